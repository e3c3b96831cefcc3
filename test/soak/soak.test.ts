import { expect } from 'chai';
import { httpServer, type HttpTestServer } from '../integration/http-server.js';
import { runChild } from '../helpers/child.js';

// Bounded for CI (about 20 s per Node version); SOAK_CALLS raises it for a longer run.
const CALLS = Number(process.env.SOAK_CALLS ?? 30_000);
/** Heap growth allowed from the warmed-up level to the end: far below what a per-call leak would add. */
const MAX_GROWTH_MB = 6;

/**
 * A dependency that resets every connection for `badMs` of every `periodMs`. By time,
 * not by request count: an open breaker sends it nothing, so a count would stall.
 */
function flapping(periodMs: number, badMs: number): Promise<HttpTestServer> {
  return httpServer((req, res) => {
    req.resume();
    if (Date.now() % periodMs < badMs) {
      req.socket.destroy();
      return;
    }
    res.end('ok');
  });
}

describe('soak: memory under many calls with breakers opening and closing', function () {
  this.timeout(180_000);
  let servers: HttpTestServer[] = [];
  before(async () => {
    servers = await Promise.all([flapping(200, 25), flapping(250, 30), flapping(300, 40), flapping(400, 60)]);
  });
  after(() => Promise.all(servers.map((s) => s.close())));

  it(`stays flat over ${CALLS} fetch calls under register`, async () => {
    const result = await runChild(['--expose-gc', '--require', 'breakwater/register', 'test/fixtures/soak/app.cjs'], {
      SOAK_TARGETS: servers.map((s) => s.url).join(','),
      SOAK_CALLS: String(CALLS),
      BREAKWATER_BREAKER: 'consecutive',
      BREAKWATER_BREAKER_THRESHOLD: '5',
      BREAKWATER_BREAKER_OPEN_MS: '20',
      BREAKWATER_BREAKER_MAX_OPEN_MS: '40',
      BREAKWATER_RETRY_BASE_DELAY_MS: '1',
      BREAKWATER_RETRY_MAX_DELAY_MS: '2',
      BREAKWATER_RETRY_BUDGET_RATIO: '1',
    }, 170_000);
    expect(result.code, result.stderr).to.equal(0);
    const out = JSON.parse(result.stdout.trim().split('\n').pop()!) as { ok: number; failed: number; samples: number[]; attempts: number; transitions: number };
    console.log(`      soak: ${JSON.stringify(out)}`);
    expect(out.ok + out.failed).to.equal(CALLS);
    expect(out.attempts, 'every call went through breakwater').to.be.at.least(CALLS);
    expect(out.transitions, 'breakers opened and closed many times').to.be.at.least(40);
    expect(out.ok).to.be.greaterThan(0);
    expect(out.failed).to.be.greaterThan(0);
    // The first samples include warm-up (JIT, pools, first series); judge from the third on.
    const warmed = Math.min(...out.samples.slice(2, 4));
    const end = Math.max(...out.samples.slice(-3));
    expect(end - warmed, `heap samples (MB): ${out.samples.join(', ')}`).to.be.below(MAX_GROWTH_MB);
  });
});
