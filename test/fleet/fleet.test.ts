import { expect } from 'chai';
import { inspect } from 'node:util';
import { Fleet, type FleetOptions } from '../../src/fleet/fleet.js';
import { fleetKey } from '../../src/fleet/keys.js';
import { QuotaLease } from '../../src/fleet/quota-lease.js';
import { parseRedisUrl } from '../../src/fleet/redis-url.js';
import { RespClient } from '../../src/fleet/resp-client.js';
import { eventually } from '../helpers/eventually.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { redis, type RedisServer } from '../integration/servers.js';

const TARGET = 'https://api.example.com:443';

describe('fleet: Fleet, the shared state of one process, on a real redis-server', function () {
  this.timeout(60_000);
  let server: RedisServer;
  const fleets: Fleet[] = [];

  before(async function () {
    this.timeout(15 * 60_000); // may install redis-server
    server = await redis();
  });

  afterEach(async () => {
    for (const f of fleets.splice(0)) await f.close();
  });

  function fleet(url: string, options: Partial<FleetOptions> = {}): { fleet: Fleet; lines: string[] } {
    const lines: string[] = [];
    const made = new Fleet({
      endpoint: parseRedisUrl(url),
      service: `fleet-test ${process.pid}`,
      expectedInstances: 2,
      syncMs: 250,
      log: (line) => lines.push(line),
      client: { reconnectBaseMs: 20, reconnectMaxMs: 100, connectTimeoutMs: 300 },
      ...options,
    });
    fleets.push(made);
    return { fleet: made, lines };
  }

  it('dials nothing until a policy asks for a target\'s rate; then leases from the fleet\'s key on one connection', async () => {
    const { fleet: f } = fleet(server.url);
    expect(f.status()).to.deep.equal({ connection: 'idle' });
    expect(f.service, 'keys use the Redis-safe service name').to.equal(`fleet-test_${process.pid}`);
    const rate = f.rate(TARGET, { ratePerSecond: 100, burst: 10 });
    expect(rate).to.be.instanceOf(QuotaLease);
    expect(rate.source).to.equal('local');
    await eventually(() => {
      rate.reserve(performance.now());
      return rate.source === 'fleet';
    }, 5000, 'leasing from the fleet');
    expect(f.status()).to.include({ connection: 'up' });
    const admin = new RespClient(server.url);
    try {
      expect(await admin.command(['EXISTS', fleetKey(f.service, TARGET, 'rate')], 1000)).to.equal(1);
      const clients = String(await admin.command(['CLIENT', 'LIST'], 1000)).split('\n').filter((l) => l.includes('cmd=evalsha'));
      expect(clients, 'one connection for every target').to.have.length.at.most(1);
    } finally {
      await admin.close();
    }
    await f.close();
    expect(f.status().connection).to.equal('closed');
  });

  it('says when Redis goes down and comes back, naming it without its password, which nothing it shows holds', async () => {
    const proxy = await startFaultProxy({ host: server.host, port: server.port });
    try {
      const url = `redis://:${encodeURIComponent(server.password)}@127.0.0.1:${proxy.port}`;
      const { fleet: f, lines } = fleet(url);
      const rate = f.rate(TARGET, { ratePerSecond: 100, burst: 10 });
      await eventually(() => (rate.reserve(performance.now()), rate.source === 'fleet'), 5000, 'fleet');
      await proxy.setFault({ kind: 'refuse' });
      proxy.resetAll();
      await eventually(() => f.status().connection === 'down', 2000, 'down');
      const down = f.status();
      expect(down.lastError).to.be.a('string').that.is.not.empty;
      expect(rate.reserve(performance.now()), 'the local share admits at once').to.equal(0);
      expect(rate.source).to.equal('local');
      await proxy.setFault({ kind: 'none' });
      await eventually(() => (rate.reserve(performance.now()), rate.source === 'fleet'), 5000, 'back on the fleet');
      expect(lines).to.have.length(2);
      expect(lines[0]).to.match(new RegExp(`^breakwater: fleet mode: Redis redis://127\\.0\\.0\\.1:${proxy.port}/0 is unreachable \\(.+\\); rate limits, breakers and retry budgets are local until it is back$`));
      expect(lines[1]).to.equal(`breakwater: fleet mode: Redis redis://127.0.0.1:${proxy.port}/0 is back; rate limits, breakers and retry budgets are the fleet's again`);
      for (const shown of [...lines, JSON.stringify(down), JSON.stringify(f.status()), inspect(f, { showHidden: true, depth: 10 }), f.redis]) {
        expect(shown).not.to.include(server.password);
      }
    } finally {
      await proxy.close();
    }
  });

  it('breaker() and budget(): one instance\'s opening reaches the other through Redis; the status shows each target\'s view', async () => {
    const service = `fleet-breaker ${process.pid}`;
    const settings = { rule: { mode: 'consecutive' as const, threshold: 3 }, openMs: 2000, maxOpenMs: 8000 };
    const told: string[] = [];
    const control = (name: string) => ({ open: (ms: number) => void told.push(`${name} open ${ms > 1000 && ms <= 2000}`), close: () => void told.push(`${name} close`) });
    const { fleet: a } = fleet(server.url, { service });
    const { fleet: b } = fleet(server.url, { service });
    const seen = a.breaker(TARGET, settings, control('a'))!;
    const follower = b.breaker(TARGET, settings, control('b'))!;
    expect(b.breaker(TARGET, settings, control('b2')), 'a target made again gets the same breaker, bound to its new control').to.equal(follower);
    await eventually(() => a.targets()[0]?.breaker?.mode === 'fleet' && b.targets()[0]?.breaker?.mode === 'fleet', 5000, 'both synced');
    for (let i = 0; i < 3; i++) seen.record(0, true, 1);
    seen.transitioned('closed', 'open', false);
    await eventually(() => told.includes('b2 open true'), 2000, 'the other instance told to open for the fleet\'s period');
    expect(told, 'the instance that opened it is not told back').not.to.include('a open true');
    const [shown] = b.targets();
    expect(shown).to.deep.include({ target: TARGET });
    expect(shown!.breaker).to.include({ mode: 'fleet', state: 'open' });
    expect(shown!.breaker!.epoch).to.be.a('number');
    expect(shown!.breaker!.remainingMs).to.be.within(1, 2000);
    const budget = a.budget(TARGET, { ratio: 0.1, minPerSecond: 0, windowMs: 10_000 })!;
    for (let i = 0; i < 20; i++) budget.recordFirstAttempt();
    await eventually(() => a.targets()[0]?.budget?.mode === 'fleet' && a.targets()[0]!.budget!.firstAttempts === 20, 5000, 'the budget flushed');
    expect(budget.allowsRetry(performance.now())).to.equal(true);
    await a.close();
    expect(a.targets()[0]!.breaker!.mode, 'closed: local').to.equal('local');
    expect(budget.allowsRetry(performance.now()), 'closed: the local budget decides').to.equal(undefined);
  });

  it('a wrong password: down, and the reason never repeats it', async () => {
    const secret = 'not-the-password-42';
    const { fleet: f, lines } = fleet(`redis://:${secret}@127.0.0.1:${server.port}`);
    const rate = f.rate(TARGET, { ratePerSecond: 100, burst: 10 });
    await eventually(() => (rate.reserve(performance.now()), f.status().connection === 'down'), 5000, 'down');
    expect(rate.source).to.equal('local');
    expect(f.status().lastError).to.match(/AUTH/);
    for (const shown of [...lines, JSON.stringify(f.status())]) expect(shown).not.to.include(secret);
  });
});
