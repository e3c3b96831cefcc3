import { expect } from 'chai';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { createFetchAdapter } from '../../instrumentations/fetch/index.js';
import type { Adapter } from '../../instrumentations/kit/adapter.js';
import { LIMITED_CODE } from '../../src/errors.js';
import { httpServer, type HttpTestServer } from './http-server.js';
import { OtelHarness, pointValue } from '../helpers/otel.js';

/**
 * Overload protection against real HTTP servers through global fetch: a dependency's
 * Retry-After pauses the whole target, its RateLimit headers pace the calls so they stay
 * within its stated quota, and the adaptive concurrency limit keeps a small server's queue
 * short.
 */
describe('overload protection on real HTTP servers (fetch)', function () {
  this.timeout(60_000);
  let otel: OtelHarness;
  let adapter: Adapter | undefined;
  let server: HttpTestServer | undefined;

  function enable(env: Record<string, string>): void {
    otel = new OtelHarness().install();
    adapter = createFetchAdapter(new Runtime(loadConfig({ BREAKWATER_BREAKER: 'off', BREAKWATER_RETRY_BASE_DELAY_MS: '1', ...env })));
    adapter.enable();
  }

  afterEach(async () => {
    adapter?.disable();
    adapter = undefined;
    await otel?.uninstall();
    await server?.close();
    server = undefined;
  });

  async function status(url: string): Promise<number | string> {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      return res.status;
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    }
  }

  it("a 429's Retry-After pauses every call to the target: nothing reaches the server until it ends", async () => {
    enable({ BREAKWATER_RATE_LIMIT_FROM_HEADERS: 'true', BREAKWATER_RATE_LIMIT_MAX_WAIT_MS: '3000', BREAKWATER_RETRY_MAX_ATTEMPTS: '1' });
    const arrivals: number[] = [];
    let first = true;
    server = await httpServer((req, res) => {
      arrivals.push(performance.now());
      req.resume();
      if (first) {
        first = false;
        res.writeHead(429, { 'retry-after': '1' }).end();
        return;
      }
      res.end('ok');
    });
    expect(await status(`${server.url}/a`)).to.equal(429);
    const pausedAt = arrivals[0]!;
    const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => status(`${server!.url}/b${i}`)));
    expect(statuses).to.deep.equal(Array(10).fill(200));
    const early = arrivals.slice(1).filter((t) => t - pausedAt < 950);
    expect(early, 'requests that reached the server during the pause').to.deep.equal([]);
    const waited = otel.spans().map((s) => s.attributes['resilience.limit.wait_ms']).filter((w) => typeof w === 'number') as number[];
    expect(waited).to.have.length(10);
  });

  it('a pause longer than the wait allowed fails calls at once with BREAKWATER_LIMITED, without reaching the server', async () => {
    enable({ BREAKWATER_RATE_LIMIT_FROM_HEADERS: 'true', BREAKWATER_RATE_LIMIT_MAX_WAIT_MS: '100', BREAKWATER_RETRY_MAX_ATTEMPTS: '1' });
    let received = 0;
    server = await httpServer((req, res) => {
      received++;
      req.resume();
      res.writeHead(429, { 'retry-after': '30' }).end();
    });
    expect(await status(`${server.url}/a`)).to.equal(429);
    const started = performance.now();
    expect(await status(`${server.url}/b`)).to.equal(LIMITED_CODE);
    expect(performance.now() - started).to.be.below(50);
    expect(received).to.equal(1);
    const m = await otel.collect();
    expect(pointValue(m.get('resilience.limited'), { 'resilience.limit.reason': 'rate' })).to.equal(1);
  });

  it("RateLimit headers pace calls within the dependency's stated quota: no 429 after the first window", async () => {
    enable({ BREAKWATER_RATE_LIMIT_FROM_HEADERS: 'true', BREAKWATER_RATE_LIMIT_MAX_WAIT_MS: '5000', BREAKWATER_RETRY_MAX_ATTEMPTS: '1' });
    // A fixed-window quota of 5 requests per second, stated in every answer.
    const QUOTA = 5;
    let windowStart = performance.now();
    let used = 0;
    const refused: number[] = [];
    server = await httpServer((req, res) => {
      const now = performance.now();
      if (now - windowStart >= 1000) {
        windowStart += Math.floor((now - windowStart) / 1000) * 1000;
        used = 0;
      }
      req.resume();
      const reset = Math.max(1, Math.ceil((windowStart + 1000 - now) / 1000));
      if (used >= QUOTA) {
        refused.push(now);
        res.writeHead(429, { 'retry-after': String(reset), 'ratelimit-remaining': '0', 'ratelimit-reset': String(reset) }).end();
        return;
      }
      used++;
      res.writeHead(200, { 'ratelimit-limit': String(QUOTA), 'ratelimit-remaining': String(QUOTA - used), 'ratelimit-reset': String(reset) }).end('ok');
    });
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 15; i++) statuses.push(await status(`${server.url}/q${i}`));
    expect(statuses.filter((s) => s === 429).length, `429s (${statuses.join(',')})`).to.equal(0);
    expect(statuses.every((s) => s === 200)).to.equal(true);
  });

  it('the adaptive limit keeps a small server\'s queue short under a burst, where no limit floods it', async () => {
    const CAPACITY = 4;
    async function run(env: Record<string, string>): Promise<{ peak: number; ok: number; limited: number }> {
      enable(env);
      let running = 0;
      let peak = 0;
      const queue: Array<() => void> = [];
      let busy = 0;
      server = await httpServer((req, res) => {
        req.resume();
        running++;
        peak = Math.max(peak, running);
        const serve = () => {
          busy++;
          setTimeout(() => {
            busy--;
            running--;
            res.end('ok');
            queue.shift()?.();
          }, 10);
        };
        if (busy < CAPACITY) serve();
        else queue.push(serve);
      });
      // Warm the limit with a steady trickle, then a burst of 60 at once.
      for (let i = 0; i < 60; i++) await status(`${server.url}/warm`);
      const results = await Promise.all(Array.from({ length: 60 }, () => status(`${server!.url}/burst`)));
      const outcome = { peak, ok: results.filter((r) => r === 200).length, limited: results.filter((r) => r === LIMITED_CODE).length };
      adapter!.disable();
      adapter = undefined;
      await otel.uninstall();
      await server.close();
      server = undefined;
      return outcome;
    }
    const unlimited = await run({});
    const adaptive = await run({ BREAKWATER_CONCURRENCY_LIMIT: 'adaptive', BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE: '100', BREAKWATER_CONCURRENCY_LIMIT_MAX_WAIT_MS: '5000' });
    expect(unlimited.peak, 'without a limit the burst reaches the server at once').to.be.at.least(40);
    expect(adaptive.peak, 'requests at the server at once, under the adaptive limit').to.be.at.most(20);
    expect(adaptive.ok + adaptive.limited).to.equal(60);
    expect(adaptive.ok).to.be.at.least(55);
  });
});
