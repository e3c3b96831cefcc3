import { expect } from 'chai';
import fc from 'fast-check';
import { EXPIRY_SLACK_MS, GcraLimiter, type LeaseGrant } from '../../src/fleet/gcra.js';
import { GCRA_LEASE_SCRIPT } from '../../src/fleet/gcra-script.js';
import { RespClient, type RespCommander } from '../../src/fleet/resp-client.js';
import type { RespArg } from '../../src/fleet/resp.js';
import { ScriptRunner } from '../../src/fleet/script-runner.js';
import { redis, type RedisServer } from '../integration/servers.js';

let keyCounter = 0;
function key(): string {
  return `bw:{test:${process.pid}:${keyCounter++}}:rate`;
}

/** Wall-clock-sized fake times, so the script's arithmetic runs at the magnitude it does in production. */
const EPOCH = 1_700_000_000_000;

describe('fleet: GCRA leases on a real redis-server', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let client: RespClient;

  before(async function () {
    this.timeout(15 * 60_000); // may install redis-server
    server = await redis();
    client = new RespClient(server.url);
  });

  after(() => client.close());

  /** A limiter whose clock the test sets. */
  function fakeTime(): { limiter: GcraLimiter; at(ms: number): void } {
    let now = EPOCH;
    return { limiter: new GcraLimiter(client, { now: () => now }), at: (ms) => (now = ms) };
  }

  it('grants up to the burst at once, then what the rate refills, and says when the next token is free', async () => {
    const { limiter, at } = fakeTime();
    const k = key();
    at(EPOCH);
    expect(await limiter.lease(k, 100, 10, 4)).to.deep.equal({ granted: 4, retryAfterMs: 0 });
    expect(await limiter.lease(k, 100, 10, 10)).to.deep.equal({ granted: 6, retryAfterMs: 10 });
    expect(await limiter.lease(k, 100, 10, 1)).to.deep.equal({ granted: 0, retryAfterMs: 10 });
    at(EPOCH + 35);
    expect(await limiter.lease(k, 100, 10, 10)).to.deep.equal({ granted: 3, retryAfterMs: 5 });
    at(EPOCH + 10_000);
    expect(await limiter.lease(k, 100, 10, 50)).to.deep.equal({ granted: 10, retryAfterMs: 10 });
  });

  it('sets a TTL on its key: the time until the bucket is full again, plus a slack', async () => {
    const { limiter } = fakeTime();
    const k = key();
    await limiter.lease(k, 10, 20, 5); // 5 tokens at 100 ms each: full again in 500 ms
    const ttl = (await client.command(['PTTL', k], 1000)) as number;
    expect(ttl).to.be.within(EXPIRY_SLACK_MS + 400, EXPIRY_SLACK_MS + 500);
    const denied = key();
    await limiter.lease(denied, 1, 1, 1);
    await limiter.lease(denied, 1, 1, 1); // granted 0: writes nothing
    expect(await client.command(['PTTL', denied], 1000)).to.be.within(EXPIRY_SLACK_MS + 900, EXPIRY_SLACK_MS + 1000);
  });

  it('with Redis time (the default), one clock for every instance', async () => {
    const limiter = new GcraLimiter(client);
    const k = key();
    expect(await limiter.lease(k, 10, 5, 5)).to.deep.equal({ granted: 5, retryAfterMs: 100 });
    const denied = await limiter.lease(k, 10, 5, 1);
    expect(denied.granted).to.equal(0);
    expect(denied.retryAfterMs).to.be.within(50, 100);
    await new Promise((resolve) => setTimeout(resolve, denied.retryAfterMs + 5));
    expect((await limiter.lease(k, 10, 5, 5)).granted).to.equal(1);
  });

  it('caps a lease at the burst and refuses unusable arguments', async () => {
    const { limiter } = fakeTime();
    expect((await limiter.lease(key(), 5, 3, 1000)).granted).to.equal(3);
    const bad: Array<[string, number, number, number]> = [
      ['', 1, 1, 1],
      [key(), 0, 1, 1],
      [key(), Number.NaN, 1, 1],
      [key(), 1, 0.5, 1],
      [key(), 1, 1, 0],
      [key(), 1e-9, 10, 1], // the bucket would take 317 years to fill
    ];
    for (const args of bad) {
      const result = await limiter.lease(...args).then(() => 'granted', (err: Error) => err.name);
      expect(result, JSON.stringify(args)).to.equal('RangeError');
    }
  });

  it('never grants more than burst + rate * t over any window, denies only when the bucket is empty, and frees a token when it said (fake time)', async () => {
    // Rates whose interval is a whole number of ms keep the oracle's arithmetic exact.
    const rates = [1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100, 125, 200, 250, 500, 1000];
    const step = fc.record({ dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3000 })), want: fc.integer({ min: 1, max: 40 }), atRetry: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...rates), fc.integer({ min: 1, max: 30 }), fc.array(step, { minLength: 1, maxLength: 40 }), async (rate, burst, steps) => {
        const { limiter, at } = fakeTime();
        const k = key();
        let now = EPOCH + 123;
        let last: LeaseGrant = { granted: 0, retryAfterMs: 0 };
        const grants: { at: number; granted: number }[] = [];
        for (const s of steps) {
          const waitForToken = s.atRetry && last.retryAfterMs > 0;
          now += waitForToken ? last.retryAfterMs : s.dt;
          at(now);
          last = await limiter.lease(k, rate, burst, s.want);
          grants.push({ at: now, granted: last.granted });
          expect(last.granted).to.be.within(0, Math.min(s.want, burst));
          if (waitForToken) expect(last.granted, 'a token is free when the last lease said').to.be.at.least(1);
          if (last.granted < Math.min(s.want, burst)) {
            expect(last.retryAfterMs).to.be.above(0);
            expect((await limiter.lease(k, rate, burst, 1)).granted, 'denied with tokens left').to.equal(0);
          }
        }
        for (let i = 0; i < grants.length; i++) {
          let sum = 0;
          for (let j = i; j < grants.length; j++) {
            sum += grants[j]!.granted;
            const bound = burst + (rate * (grants[j]!.at - grants[i]!.at)) / 1000;
            expect(sum, `window ${i}..${j}`).to.be.at.most(bound);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('re-loads its script after SCRIPT FLUSH, one SCRIPT LOAD for concurrent callers', async () => {
    const sent: string[] = [];
    const counting: RespCommander = {
      command: (args: readonly RespArg[], timeoutMs: number) => {
        sent.push(`${String(args[0])} ${String(args[1])}`);
        return client.command(args, timeoutMs);
      },
    };
    const limiter = new GcraLimiter(Object.assign(counting, { ready: true }));
    await client.command(['SCRIPT', 'FLUSH'], 1000);
    const grants = await Promise.all(Array.from({ length: 20 }, () => limiter.lease(key(), 10, 5, 1)));
    expect(grants.every((g) => g.granted === 1)).to.equal(true);
    expect(sent.filter((s) => s === 'SCRIPT LOAD')).to.have.length(1);
    const runner = new ScriptRunner(counting, GCRA_LEASE_SCRIPT);
    expect(await client.command(['SCRIPT', 'EXISTS', runner.sha], 1000)).to.deep.equal([1]);
  });

  it('a script Redis refuses fails the lease with the reply error', async () => {
    const runner = new ScriptRunner(client, 'return redis.call("NOSUCHCOMMAND")');
    const err = await runner.run([], [], 1000).then(() => undefined, (e: Error) => e);
    expect(err?.name).to.equal('RespReplyError');
    expect(err?.message).to.match(/Unknown Redis command/i);
  });
});
