import { expect } from 'chai';
import { GcraLimiter, type LeaseGrant } from '../../src/fleet/gcra.js';
import { fleetKey } from '../../src/fleet/keys.js';
import { QuotaLease, type FleetRateSource, type QuotaLeaseOptions } from '../../src/fleet/quota-lease.js';
import { RespClient } from '../../src/fleet/resp-client.js';
import { eventually } from '../helpers/eventually.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { redis, type RedisServer } from '../integration/servers.js';

/** A source whose answers the test gives: each lease waits until answered. */
class FakeSource implements FleetRateSource {
  ready = true;
  readonly asked: number[] = [];
  private answers: Array<{ resolve(g: LeaseGrant): void; reject(e: Error): void }> = [];

  lease(_key: string, _rate: number, _burst: number, want: number): Promise<LeaseGrant> {
    this.asked.push(want);
    return new Promise((resolve, reject) => this.answers.push({ resolve, reject }));
  }

  get pending(): number {
    return this.answers.length;
  }

  grant(granted: number, retryAfterMs = 0): void {
    this.answers.shift()!.resolve({ granted, retryAfterMs });
  }

  fail(): void {
    this.answers.shift()!.reject(new Error('Redis is unavailable'));
  }
}

function setup(options: Partial<QuotaLeaseOptions> = {}): { clock: FakeClock; source: FakeSource; lease: QuotaLease } {
  const clock = new FakeClock();
  const source = new FakeSource();
  const lease = new QuotaLease({ source, key: 'bw:{svc:t}:rate', ratePerSecond: 100, burst: 50, clock, ...options });
  return { clock, source, lease };
}

/** Calls reserve `n` times at the clock's now; how many went. */
function spend(lease: QuotaLease, clock: FakeClock, n: number): number {
  let went = 0;
  for (let i = 0; i < n; i++) if (lease.reserve(clock.now()) === 0) went++;
  return went;
}

describe('fleet: QuotaLease (fake source, fake time)', () => {
  it('starts on the local share, leases in the background (never inside reserve), then spends leased tokens', async () => {
    const { clock, source, lease } = setup({ expectedInstances: 5 });
    expect(lease.mode).to.equal('local');
    // The local share: 100/s / 5 instances, burst 50 / 5 = 10.
    expect(spend(lease, clock, 15)).to.equal(10);
    expect(source.asked, 'nothing asked on the hot path').to.deep.equal([]);
    await flushMicrotasks();
    expect(source.asked, "15 calls in the first ms: the largest batch").to.deep.equal([10]);
    source.grant(1);
    await flushMicrotasks();
    expect(lease.mode).to.equal('fleet');
    expect(lease.reserve(clock.now())).to.equal(0);
    expect(lease.snapshot(clock.now()).held).to.equal(0);
  });

  it('sizes batches to the demand over the horizon, within maxBatch, and refills at the low-water mark', async () => {
    const { clock, source, lease } = setup({ burst: 1000, horizonMs: 100 });
    lease.reserve(clock.now());
    await flushMicrotasks();
    source.grant(1);
    await flushMicrotasks();
    // 2000 calls/s for a while: batches grow toward 200 (a 100 ms horizon's worth).
    for (let round = 0; round < 12; round++) {
      await clock.advance(10);
      spend(lease, clock, 20);
      await flushMicrotasks();
      while (source.pending > 0) {
        source.grant(source.asked.at(-1)!);
        await flushMicrotasks();
      }
    }
    const batch = lease.snapshot(clock.now()).batch;
    expect(batch).to.be.within(150, 200);
    expect(lease.snapshot(clock.now()).demandPerSecond).to.be.within(1500, 2100);
    // No refill while more than half a batch is in hand.
    const asked = source.asked.length;
    const held = lease.snapshot(clock.now()).held;
    const aboveLowWater = held - Math.floor(batch / 2) - 1;
    expect(spend(lease, clock, aboveLowWater)).to.equal(aboveLowWater);
    await flushMicrotasks();
    expect(source.asked.length).to.equal(asked);
    spend(lease, clock, 1);
    await flushMicrotasks();
    expect(source.asked.length).to.equal(asked + 1);

    const capped = setup({ burst: 1000, expectedInstances: 50 }); // maxBatch 20
    capped.lease.reserve(0);
    for (let round = 0; round < 10; round++) {
      await flushMicrotasks();
      capped.source.grant(capped.source.asked.at(-1)!);
      await flushMicrotasks();
      await capped.clock.advance(1);
      spend(capped.lease, capped.clock, 50);
    }
    expect(Math.max(...capped.source.asked)).to.equal(20);
  });

  it('falls back to the local bucket at once when the source is not ready, and rejoins after a lease is answered', async () => {
    const { clock, source, lease } = setup({ expectedInstances: 2, burst: 10 });
    lease.reserve(0);
    await flushMicrotasks();
    source.grant(5);
    await flushMicrotasks();
    expect(lease.mode).to.equal('fleet');
    source.ready = false;
    expect(lease.reserve(clock.now())).to.equal(0); // local: burst 10 / 2 = 5, one spent by the first call
    expect(lease.mode).to.equal('local');
    expect(lease.snapshot(clock.now()).held, 'leased tokens dropped').to.equal(0);
    expect(spend(lease, clock, 10)).to.equal(3);
    // Local rate: 100/s / 2 = 50/s, one every 20 ms.
    await clock.advance(100);
    expect(spend(lease, clock, 10)).to.equal(5);
    // A failed lease (Redis not back) keeps it local, and the next waits retryMs.
    await flushMicrotasks();
    source.fail();
    await flushMicrotasks();
    expect(lease.mode).to.equal('local');
    const asked = source.asked.length;
    await clock.advance(100);
    spend(lease, clock, 1);
    await flushMicrotasks();
    expect(source.asked.length, 'no lease before retryMs').to.equal(asked);
    await clock.advance(150);
    source.ready = true;
    spend(lease, clock, 1);
    await flushMicrotasks();
    expect(source.asked.length).to.equal(asked + 1);
    source.grant(3);
    await flushMicrotasks();
    expect(lease.mode).to.equal('fleet');
    expect(lease.snapshot(clock.now()).held).to.equal(3);
  });

  it('when the fleet bucket is empty: waits, and leases again after its next token and a horizon at least', async () => {
    const { clock, source, lease } = setup({ horizonMs: 100 });
    lease.reserve(0);
    await flushMicrotasks();
    source.grant(0, 30);
    await flushMicrotasks();
    expect(lease.mode).to.equal('fleet');
    expect(lease.reserve(clock.now())).to.equal(100);
    await clock.advance(60);
    expect(lease.reserve(clock.now())).to.equal(40);
    await flushMicrotasks();
    expect(source.pending).to.equal(0);
    await clock.advance(40);
    expect(lease.reserve(clock.now())).to.equal(1); // a lease is in flight now
    await flushMicrotasks();
    expect(source.pending).to.equal(1);
  });

  it('drops leased tokens it did not spend within leaseTtlMs', async () => {
    const { clock, source, lease } = setup({ leaseTtlMs: 500 });
    lease.reserve(0);
    await flushMicrotasks();
    source.grant(10);
    await flushMicrotasks();
    expect(lease.snapshot(clock.now()).held).to.equal(10);
    await clock.advance(499);
    expect(lease.snapshot(clock.now()).held).to.equal(10);
    await clock.advance(1);
    expect(lease.snapshot(clock.now()).held).to.equal(0);
  });

  it('refuses unusable settings', () => {
    const source = new FakeSource();
    const base = { source, key: 'k', ratePerSecond: 10, burst: 10 };
    for (const bad of [{ ratePerSecond: 0 }, { burst: 0 }, { expectedInstances: 0 }, { horizonMs: Number.NaN }, { leaseTtlMs: -1 }]) {
      expect(() => new QuotaLease({ ...base, ...bad }), JSON.stringify(bad)).to.throw(RangeError);
    }
  });
});

describe('fleet: QuotaLease on a real redis-server', function () {
  this.timeout(60_000);
  let server: RedisServer;
  const clients: RespClient[] = [];
  const proxies: FaultProxy[] = [];

  before(async function () {
    this.timeout(15 * 60_000); // may install redis-server
    server = await redis();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const p of proxies.splice(0)) await p.close();
  });

  function instance(url: string, key: string, options: Partial<QuotaLeaseOptions>): QuotaLease {
    const client = new RespClient(url, { reconnectBaseMs: 20, reconnectMaxMs: 100, connectTimeoutMs: 300 });
    clients.push(client);
    return new QuotaLease({ source: new GcraLimiter(client), key, ratePerSecond: 200, burst: 40, ...options });
  }

  /** Every instance calls as fast as reserve lets it, each ms; returns the calls admitted per instance. */
  async function drive(leases: QuotaLease[], ms: number, onTick?: () => void): Promise<number[]> {
    const admitted = leases.map(() => 0);
    const end = performance.now() + ms;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        leases.forEach((lease, i) => {
          for (let n = 0; n < 50 && lease.reserve(now) === 0; n++) admitted[i]!++;
        });
        onTick?.();
        if (now >= end) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    return admitted;
  }

  it('4 instances sharing one key hold the shared rate within 10% over 3 s', async () => {
    const key = fleetKey('quota-test', `https://api.example:${process.pid}`, 'rate');
    const leases = Array.from({ length: 4 }, () => instance(server.url, key, { expectedInstances: 4 }));
    await drive(leases, 200); // warm-up: every instance leasing from the fleet
    expect(leases.map((l) => l.mode)).to.deep.equal(['fleet', 'fleet', 'fleet', 'fleet']);
    const admitted = await drive(leases, 3000);
    const total = admitted.reduce((a, b) => a + b, 0);
    expect(total, `admitted ${admitted.join(' + ')}`).to.be.within(600 * 0.9, 600 * 1.1);
    for (const n of admitted) expect(n, 'every instance gets some of the quota').to.be.above(60);
    expect(await clients[0]!.command(['PTTL', key], 1000)).to.be.above(0);
  });

  it('Redis unreachable: on the local share at once, no call fails for it; reachable again: back on the fleet', async () => {
    const proxy = await startFaultProxy({ host: server.host, port: server.port });
    proxies.push(proxy);
    const key = fleetKey('quota-test', `https://outage.example:${process.pid}`, 'rate');
    const lease = instance(`redis://:${encodeURIComponent(server.password)}@127.0.0.1:${proxy.port}`, key, { expectedInstances: 2 });
    await drive([lease], 200);
    expect(lease.mode).to.equal('fleet');
    await proxy.setFault({ kind: 'refuse' });
    proxy.resetAll();
    const cutAt = performance.now();
    let localAt: number | undefined;
    const inOutage = await drive([lease], 1000, () => {
      if (localAt === undefined && lease.mode === 'local') localAt = performance.now();
    });
    expect(localAt, 'on local state').to.not.equal(undefined);
    expect(localAt! - cutAt).to.be.below(1000);
    // The local share: 200/s / 2 = 100/s over a second, burst 20.
    expect(inOutage[0]).to.be.within(90, 130);
    await proxy.setFault({ kind: 'none' });
    await eventually(() => {
      lease.reserve(performance.now());
      return lease.mode === 'fleet';
    }, 5000, 'back on the fleet');
  });
});
