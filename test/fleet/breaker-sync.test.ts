import { expect } from 'chai';
import { BreakerSync, type BreakerSyncOptions, type FleetBreaker, type FleetBreakerChange, type FleetBreakerSettings } from '../../src/fleet/breaker-sync.js';
import { fleetKey } from '../../src/fleet/keys.js';
import { RespClient } from '../../src/fleet/resp-client.js';
import type { RespValue } from '../../src/fleet/resp.js';
import { eventually } from '../helpers/eventually.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { redis, type RedisServer } from '../integration/servers.js';
import { ManualRedis, type SentCommand } from './fixtures/manual-redis.js';

const CONSECUTIVE: FleetBreakerSettings = { rule: { mode: 'consecutive', threshold: 5 }, openMs: 1000, maxOpenMs: 8000, probePermitMs: 500 };

/** The parts of an exchange the tests look at (ARGV order: breaker-script.ts). */
function exchange(sent: SentCommand): { epoch: number; report: string; wantProbe: boolean; calls: number; failures: number; slow: number; reset: boolean } {
  const a = sent.argv;
  return { epoch: Number(a[2]), report: String(a[3]), wantProbe: a[4] === 1, calls: Number(a[11]), failures: Number(a[12]), slow: Number(a[13]), reset: a[14] === 1 };
}

/** A reply as the script gives it. */
function reply(r: { open?: boolean; epoch?: number; remainingMs?: number; cf?: number; permitMs?: number; reported?: boolean } = {}): RespValue {
  return [r.open ? 1 : 0, r.epoch ?? 0, r.remainingMs ?? 0, r.cf ?? 0, r.permitMs ?? 0, r.reported ? 1 : 0];
}

describe('fleet: BreakerSync (hand-answered Redis, fake time)', () => {
  let clock: FakeClock;
  let fake: ManualRedis;
  let sync: BreakerSync;
  let changes: FleetBreakerChange[];

  function setup(options: Partial<BreakerSyncOptions> = {}, settings: FleetBreakerSettings = CONSECUTIVE): FleetBreaker {
    clock = new FakeClock();
    fake = new ManualRedis();
    sync = new BreakerSync({ client: fake, service: 'svc', clock, instanceId: 'me', ...options });
    changes = [];
    return sync.target('https://api.example:443', settings, (c) => changes.push(c));
  }

  /** Lets a prompt round start (0 ms timer, minGapMs after the last). */
  async function promptRound(): Promise<void> {
    await clock.advance(10);
  }

  async function answer(value: RespValue): Promise<void> {
    fake.next().answer(value);
    await flushMicrotasks();
  }

  afterEach(() => sync.close());

  it('sends nothing on the hot path: the first sync and failures go in prompt rounds, successes wait for the regular round', async () => {
    const fleet = setup();
    expect(fake.log).to.have.length(0);
    await promptRound();
    expect(fake.pending).to.have.length(1);
    const first = exchange(fake.next());
    expect(first).to.include({ epoch: -1, report: '', failures: 0, reset: false });
    expect(fake.next().keys).to.deep.equal([fleetKey('svc', 'https://api.example:443', 'breaker'), fleetKey('svc', 'https://api.example:443', 'probe')]);
    await answer(reply({ epoch: 7 }));
    expect(fleet.mode).to.equal('fleet');

    for (let i = 0; i < 3; i++) fleet.record(false);
    await promptRound();
    expect(fake.pending, 'successes are not urgent').to.have.length(0);
    fleet.record(true);
    fleet.record(true);
    expect(fake.pending, 'nothing sent inside record()').to.have.length(0);
    await promptRound();
    // The fleet's run was 0: the successes before the failures are not worth sending.
    expect(exchange(fake.next())).to.include({ epoch: 7, failures: 2, reset: false });
    await answer(reply({ epoch: 7, cf: 2 }));
    fleet.record(false);
    await clock.advance(250);
    expect(exchange(fake.next()), 'the fleet has a run to reset').to.include({ failures: 0, reset: true });
    await answer(reply({ epoch: 7 }));
    // A regular round with nothing to say is still a poll.
    await clock.advance(250);
    expect(exchange(fake.next())).to.include({ failures: 0, reset: false, report: '' });
    await answer(reply({ epoch: 7 }));
  });

  it('rate rule: counts calls, failures and slow calls per round', async () => {
    const fleet = setup({}, { rule: { mode: 'rate', failureRate: 0.5, minCalls: 10, windowMs: 30_000, slowCallMs: 100, slowCallRate: 0.8 }, openMs: 1000, maxOpenMs: 1000 });
    await promptRound();
    await answer(reply());
    fleet.record(false, 10);
    fleet.record(false, 150);
    fleet.record(true, 500);
    await promptRound();
    const sent = fake.next();
    expect(exchange(sent)).to.include({ calls: 3, failures: 1, slow: 2 });
    expect(sent.argv.slice(5, 11)).to.deep.equal(['rate', 10, 0.5, 0.8, 3000, 10]);
    await answer(reply());
  });

  it('follows the fleet: tells the engine when the fleet opened or closed it (not for its own report), heldOpenMs; sends back nothing it only followed', async () => {
    const fleet = setup();
    await promptRound();
    await answer(reply({ epoch: 1 }));
    await clock.advance(250);
    await answer(reply({ open: true, epoch: 2, remainingMs: 1000 }));
    expect(changes).to.deep.equal([{ state: 'open', remainingMs: 1000, epoch: 2 }]);
    expect(fleet.heldOpenMs(clock.now())).to.equal(1000);
    expect(fleet.view(clock.now())).to.include({ mode: 'fleet', state: 'open', epoch: 2 });
    // The engine's breaker follows: its transition is no news to the fleet.
    fleet.transition('open');
    await promptRound();
    expect(fake.pending).to.have.length(0);
    await clock.advance(240);
    expect(exchange(fake.next()).report).to.equal('');
    await answer(reply({ open: true, epoch: 2, remainingMs: 750 }));
    expect(changes, 'same epoch: no news').to.have.length(1);
    // Closed by another instance's probe.
    await clock.advance(250);
    await answer(reply({ epoch: 3 }));
    expect(changes.at(-1)).to.deep.equal({ state: 'closed', remainingMs: 0, epoch: 3 });
    expect(fleet.heldOpenMs(clock.now())).to.equal(0);
    fleet.transition('closed');
    await promptRound();
    expect(fake.pending).to.have.length(0);

    // Its own rule trips: reported with the epoch it saw; the reply says its report did it: no change event.
    fleet.transition('open');
    await promptRound();
    expect(exchange(fake.next())).to.include({ report: 'open', epoch: 3 });
    await answer(reply({ open: true, epoch: 4, remainingMs: 1000, reported: true }));
    expect(changes).to.have.length(2);
  });

  it('mayProbe: true while the fleet is closed or the view local; else false, asks for the permit in the background, true once won', async () => {
    const fleet = setup();
    expect(fleet.mayProbe(clock.now()), 'local: the local breaker decides').to.equal(true);
    await promptRound();
    await answer(reply({ open: true, epoch: 2, remainingMs: 100 }));
    await clock.advance(100);
    expect(fleet.mayProbe(clock.now())).to.equal(false);
    expect(fleet.mayProbe(clock.now())).to.equal(false);
    await promptRound();
    expect(fake.pending, 'one request').to.have.length(1);
    expect(exchange(fake.next())).to.include({ wantProbe: true });
    await answer(reply({ open: true, epoch: 2, remainingMs: -10 })); // another instance won it
    expect(fleet.mayProbe(clock.now())).to.equal(false);
    await promptRound();
    expect(fake.pending, 'asked again on the regular round, not at once').to.have.length(0);
    await clock.advance(250);
    expect(exchange(fake.next())).to.include({ wantProbe: true });
    await answer(reply({ open: true, epoch: 2, remainingMs: -300, permitMs: 500 }));
    expect(fleet.mayProbe(clock.now())).to.equal(true);
    expect(fleet.view(clock.now())).to.include({ state: 'half_open', probePermit: true });
    await clock.advance(240);
    await answer(reply({ open: true, epoch: 2, remainingMs: -540 })); // a regular round
    await clock.advance(260);
    await answer(reply({ open: true, epoch: 2, remainingMs: -800 }));
    expect(fleet.mayProbe(clock.now()), 'the permit expired').to.equal(false);
    // The probe failed: a re-open is news (the period is over), and ends the permit.
    fleet.transition('open');
    expect(fleet.view(clock.now()).probePermit).to.equal(false);
    await promptRound();
    expect(exchange(fake.next())).to.include({ report: 'open', epoch: 2, wantProbe: false });
  });

  it('Redis not ready or not answering: local at once, nothing throws; counts dropped, a transition kept and reported on the rejoin with its epoch', async () => {
    const fleet = setup();
    await promptRound();
    await answer(reply({ open: true, epoch: 5, remainingMs: 1000 }));
    expect(fleet.heldOpenMs(clock.now())).to.equal(1000);
    fake.ready = false;
    expect(fleet.mode).to.equal('local');
    expect(fleet.heldOpenMs(clock.now())).to.equal(0);
    expect(fleet.mayProbe(clock.now())).to.equal(true);
    // Rounds fail (a real client fails fast): counts dropped, the local breaker's transitions kept.
    fleet.record(true);
    fleet.transition('half_open');
    fleet.transition('closed'); // its own probe, local, succeeded
    await promptRound();
    for (const sent of [...fake.pending]) sent.fail();
    await flushMicrotasks();
    expect(sync.mode).to.equal('local');
    fleet.record(true);
    await clock.advance(250);
    fake.ready = true;
    const rejoin = exchange(fake.next());
    expect(rejoin).to.include({ report: 'closed', epoch: 5, failures: 1 });
    await answer(reply({ epoch: 6, reported: true }));
    expect(fleet.mode).to.equal('fleet');
    expect(sync.mode).to.equal('fleet');
    expect(changes, 'its own report: no change event').to.have.length(1);

    // Slow: the client is ready but the answer does not come: local once it is stale.
    await clock.advance(250);
    expect(fake.pending).to.have.length(1);
    await clock.advance(2 * 250 + 250); // staleMs
    expect(fleet.view(clock.now()).mode).to.equal('local');
  });

  it('polls active targets only: an idle one stops costing anything and is synced at once when used again; an open one keeps being polled', async () => {
    const fleet = setup({ idleAfterMs: 1000 });
    const other = sync.target('https://other.example:443', CONSECUTIVE);
    await promptRound();
    expect(fake.pending, 'both targets in one round').to.have.length(2);
    await answer(reply());
    await answer(reply({ open: true, epoch: 9, remainingMs: 60_000 }));
    let polls = fake.log.length;
    for (let i = 0; i < 8; i++) {
      await clock.advance(250);
      for (const sent of [...fake.pending]) sent.answer(sent.keys[0] === fleetKey('svc', 'https://other.example:443', 'breaker') ? reply({ open: true, epoch: 9, remainingMs: 60_000 }) : reply());
      await flushMicrotasks();
    }
    const perTarget = (target: string): number => fake.log.slice(polls).filter((s) => s.keys[0] === fleetKey('svc', target, 'breaker')).length;
    expect(perTarget('https://api.example:443'), 'idle after 1 s').to.equal(4);
    expect(perTarget('https://other.example:443'), 'held open: polled').to.equal(8);
    expect(fleet.mode).to.equal('local');
    polls = fake.log.length;
    fleet.record(true);
    await promptRound();
    expect(fake.pending.map((s) => s.keys[0])).to.deep.equal([fleetKey('svc', 'https://api.example:443', 'breaker')]);
    await answer(reply());
    expect(fleet.mode).to.equal('fleet');
    other.close();
    fleet.close();
    await clock.advance(1000);
    expect(fake.pending).to.have.length(0);
    expect(sync.size).to.equal(0);
  });

  it('refuses unusable settings', () => {
    setup();
    const bad: FleetBreakerSettings[] = [
      { ...CONSECUTIVE, rule: { mode: 'consecutive', threshold: 0 } },
      { ...CONSECUTIVE, openMs: 0 },
      { ...CONSECUTIVE, maxOpenMs: 10 },
      { ...CONSECUTIVE, probePermitMs: Number.NaN },
      { ...CONSECUTIVE, rule: { mode: 'rate', failureRate: 0.5, minCalls: 10, windowMs: 1, slowCallMs: 0, slowCallRate: 1 } },
      { ...CONSECUTIVE, rule: { mode: 'off' } as never },
    ];
    for (const settings of bad) expect(() => sync.target('t', settings), JSON.stringify(settings)).to.throw(RangeError);
    expect(() => new BreakerSync({ client: fake, service: 's', syncMs: 0 })).to.throw(RangeError);
  });
});

/**
 * What the engine's wiring will do, reduced to what the tests need: a consecutive-rule
 * local breaker (as engine/breaker/circuit.ts, probes one at a time) that reports its
 * transitions and counted outcomes to its FleetBreaker, follows the fleet's changes,
 * and asks mayProbe before a half-open probe. Calls are synchronous: a call's result
 * is known at once.
 */
class Instance {
  readonly fleet: FleetBreaker | undefined;
  calls = 0;
  private state: 'closed' | 'open' | 'half_open' = 'closed';
  private failures = 0;
  private opens = 0;
  private until = 0;

  constructor(
    sync: BreakerSync | undefined,
    target: string,
    private readonly settings: FleetBreakerSettings & { rule: { mode: 'consecutive' } },
  ) {
    this.fleet = sync?.target(target, settings, (change) => this.follow(change));
  }

  /** One call to a dependency failing (or not): whether it was sent. */
  call(fails: boolean): boolean {
    const now = performance.now();
    if (this.state === 'open' && now >= this.until) this.state = 'half_open';
    if (this.state === 'open') return false;
    if (this.state === 'half_open' && this.fleet !== undefined && !this.fleet.mayProbe(now)) return false;
    this.calls++;
    if (this.state === 'half_open') {
      if (fails) this.open(now);
      else this.close();
    } else {
      this.fleet?.record(fails);
      this.failures = fails ? this.failures + 1 : 0;
      if (this.failures >= this.settings.rule.threshold) this.open(now);
    }
    return true;
  }

  private open(now: number): void {
    this.until = now + Math.min(this.settings.maxOpenMs, this.settings.openMs * 2 ** this.opens++);
    this.state = 'open';
    this.failures = 0;
    this.fleet?.transition('open');
  }

  private close(): void {
    this.state = 'closed';
    this.opens = 0;
    this.fleet?.transition('closed');
  }

  /** The fleet opened or closed the breaker: this one does the same, and reports nothing. */
  private follow(change: FleetBreakerChange): void {
    this.state = change.state;
    this.failures = 0;
    if (change.state === 'open') this.until = performance.now() + change.remainingMs;
    else this.opens = 0;
  }
}

describe('fleet: BreakerSync on a real redis-server, several instances', function () {
  this.timeout(60_000);
  let server: RedisServer;
  const clients: RespClient[] = [];
  const syncs: BreakerSync[] = [];
  const proxies: FaultProxy[] = [];
  let n = 0;

  before(async function () {
    this.timeout(15 * 60_000); // may install redis-server
    server = await redis();
  });

  afterEach(async () => {
    for (const s of syncs.splice(0)) s.close();
    for (const c of clients.splice(0)) await c.close();
    for (const p of proxies.splice(0)) await p.close();
  });

  function instanceSync(options: Partial<BreakerSyncOptions> = {}, url = server.url): BreakerSync {
    const client = new RespClient(url, { reconnectBaseMs: 20, reconnectMaxMs: 100, connectTimeoutMs: 300 });
    clients.push(client);
    const sync = new BreakerSync({ client, service: 'breaker-test', ...options });
    syncs.push(sync);
    return sync;
  }

  function uniqueTarget(): string {
    return `https://dependency.example:${process.pid}/${n++}`;
  }

  it('an outage one instance sees opens the breaker in all four within 1 s (default syncMs), and one probe permit goes to exactly one', async () => {
    const target = uniqueTarget();
    const settings: FleetBreakerSettings = { rule: { mode: 'consecutive', threshold: 5 }, openMs: 1500, maxOpenMs: 5000, probePermitMs: 3000 };
    const seen: number[] = [];
    const fleets = Array.from({ length: 4 }, (_, i) => instanceSync().target(target, settings, (c) => c.state === 'open' && (seen[i] = performance.now())));
    await eventually(() => fleets.every((f) => f.mode === 'fleet'), 5000, 'all synced');
    const failedAt = performance.now();
    for (let i = 0; i < 5; i++) fleets[0]!.record(true);
    await eventually(() => fleets.every((f) => f.heldOpenMs(performance.now()) > 0), 2000, 'all held open');
    const slowest = Math.max(...seen.slice(1).map((t) => t - failedAt));
    expect(slowest, `followed after ${seen.map((t) => Math.round(t - failedAt)).join(', ')} ms`).to.be.below(1000);
    expect(seen[0], 'the instance whose counts opened it is told too (its breaker did not trip)').to.not.equal(undefined);

    // The period ends: every instance asks, one wins; its probe succeeds and closes the fleet's breaker.
    await eventually(() => fleets.every((f) => f.heldOpenMs(performance.now()) === 0), 3000, 'open period over');
    let winners: FleetBreaker[] = [];
    await eventually(() => {
      winners = fleets.filter((f) => f.mayProbe(performance.now()));
      return winners.length > 0;
    }, 3000, 'a permit won');
    await new Promise((resolve) => setTimeout(resolve, 600)); // more rounds: the others keep asking
    expect(fleets.filter((f) => f.mayProbe(performance.now())), 'exactly one may probe').to.deep.equal(winners).and.have.length(1);
    winners[0]!.transition('closed');
    await eventually(() => fleets.every((f) => f.view(performance.now()).state === 'closed'), 2000, 'all closed');
  });

  it('counts failures fleet-wide: four instances with two failures each open it (threshold 5); the fleet sends far fewer calls to a dead dependency', async () => {
    const settings: FleetBreakerSettings = { rule: { mode: 'consecutive', threshold: 5 }, openMs: 300, maxOpenMs: 1200, probePermitMs: 1000 };
    const spread = uniqueTarget();
    const fleets = Array.from({ length: 4 }, () => instanceSync({ syncMs: 50 }).target(spread, settings));
    await eventually(() => fleets.every((f) => f.mode === 'fleet'), 5000, 'all synced');
    for (const f of fleets) {
      f.record(true);
      f.record(true);
    }
    await eventually(() => fleets.every((f) => f.heldOpenMs(performance.now()) > 0), 2000, 'opened by the fleet-wide count');

    /** Four instances calling a dead dependency every 5 ms for 1.5 s: calls sent. */
    async function dead(withFleet: boolean): Promise<number[]> {
      const target = uniqueTarget();
      const deadSettings = { ...settings, rule: { mode: 'consecutive', threshold: 10 } } as const;
      const instances = Array.from({ length: 4 }, () => new Instance(withFleet ? instanceSync({ syncMs: 50 }) : undefined, target, deadSettings));
      if (withFleet) await eventually(() => instances.every((i) => i.fleet!.mode === 'fleet'), 5000, 'all synced');
      const end = performance.now() + 1500;
      while (performance.now() < end) {
        for (const instance of instances) instance.call(true);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return instances.map((i) => i.calls);
    }
    const alone = await dead(false);
    const together = await dead(true);
    const sum = (calls: number[]): number => calls.reduce((a, b) => a + b, 0);
    const one = Math.max(...alone);
    // Each instance alone: 10 failures, then a probe per open period (300, 600 ms...): about 4x one instance in all.
    expect(sum(alone), `without fleet mode: ${alone.join(' + ')}`).to.be.at.least(3.5 * one);
    expect(sum(together), `fleet mode: ${together.join(' + ')}; one instance alone: ${one}`).to.be.at.most(1.75 * one); // 1.25x here on a quiet machine
  });

  it('stale writers lose: a report made before a transition it missed changes nothing', async () => {
    const target = uniqueTarget();
    const settings: FleetBreakerSettings = { rule: { mode: 'consecutive', threshold: 100 }, openMs: 200, maxOpenMs: 200 };
    const a = instanceSync({ syncMs: 50 }).target(target, settings);
    const b = instanceSync({ syncMs: 60_000 }).target(target, settings); // polls once, then only on news
    await eventually(() => a.mode === 'fleet' && b.mode === 'fleet', 5000, 'synced');
    const before = b.view(performance.now()).epoch;
    a.transition('open');
    await eventually(() => a.view(performance.now()).state === 'open', 2000, 'a opened it');
    await eventually(() => a.view(performance.now()).state === 'half_open', 2000, 'period over');
    a.transition('closed');
    await eventually(() => a.view(performance.now()).state === 'closed', 2000, 'a closed it');
    const closedEpoch = a.view(performance.now()).epoch!;
    // b missed both: its breaker opens on old news; the report carries its old epoch and loses.
    expect(b.view(performance.now()).epoch).to.equal(before);
    b.transition('open');
    await eventually(() => b.view(performance.now()).epoch === closedEpoch, 2000, 'b heard the fleet');
    expect(b.view(performance.now()).state).to.equal('closed');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(a.view(performance.now())).to.include({ state: 'closed', epoch: closedEpoch });
  });

  it('sets a TTL on every key', async () => {
    const target = uniqueTarget();
    const fleet = instanceSync({ syncMs: 50 }).target(target, { rule: { mode: 'rate', failureRate: 0.5, minCalls: 2, windowMs: 10_000, slowCallMs: 0, slowCallRate: 1 }, openMs: 100, maxOpenMs: 100 });
    fleet.record(true);
    fleet.record(true);
    await eventually(() => fleet.view(performance.now()).state === 'half_open', 3000, 'opened, period over');
    await eventually(() => fleet.mayProbe(performance.now()), 3000, 'permit');
    const ttl = async (kind: 'breaker' | 'probe'): Promise<number> => (await clients[0]!.command(['PTTL', fleetKey('breaker-test', target, kind)], 1000)) as number;
    expect(await ttl('breaker')).to.be.within(1, 60_100);
    expect(await ttl('probe')).to.be.within(1, 10_000);
  });

  it('Redis unreachable: local at once and nothing throws; reachable again: rejoins, and a breaker opened meanwhile opens the fleet', async () => {
    const proxy = await startFaultProxy({ host: server.host, port: server.port });
    proxies.push(proxy);
    const target = uniqueTarget();
    const settings: FleetBreakerSettings = { rule: { mode: 'consecutive', threshold: 5 }, openMs: 2000, maxOpenMs: 2000 };
    const cut = instanceSync({ syncMs: 50 }, `redis://:${encodeURIComponent(server.password)}@127.0.0.1:${proxy.port}`).target(target, settings);
    const watcher = instanceSync({ syncMs: 50 }).target(target, settings);
    await eventually(() => cut.mode === 'fleet' && watcher.mode === 'fleet', 5000, 'synced');
    await proxy.setFault({ kind: 'refuse' });
    proxy.resetAll();
    const cutAt = performance.now();
    await eventually(() => cut.mode === 'local', 1000, 'local');
    expect(performance.now() - cutAt).to.be.below(1000);
    expect(cut.heldOpenMs(performance.now())).to.equal(0);
    expect(cut.mayProbe(performance.now())).to.equal(true);
    for (let i = 0; i < 20; i++) cut.record(true);
    cut.transition('open'); // its own breaker opened during the outage
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cut.mode).to.equal('local');
    expect(watcher.view(performance.now()).state, 'counts made while down are not sent').to.equal('closed');
    await proxy.setFault({ kind: 'none' });
    await eventually(() => cut.mode === 'fleet', 5000, 'rejoined');
    await eventually(() => watcher.heldOpenMs(performance.now()) > 0, 2000, 'the fleet opened on the rejoin report');
  });

  it('Redis not answering (blackholed): local once a round times out', async () => {
    const proxy = await startFaultProxy({ host: server.host, port: server.port });
    proxies.push(proxy);
    const fleet = instanceSync({ syncMs: 50, timeoutMs: 100 }, `redis://:${encodeURIComponent(server.password)}@127.0.0.1:${proxy.port}`).target(uniqueTarget(), CONSECUTIVE);
    await eventually(() => fleet.mode === 'fleet', 5000, 'synced');
    await proxy.setFault({ kind: 'blackhole' });
    proxy.resetAll();
    const cutAt = performance.now();
    await eventually(() => fleet.view(performance.now()).mode === 'local', 2000, 'local');
    expect(performance.now() - cutAt).to.be.below(1000);
    await proxy.setFault({ kind: 'none' });
    await eventually(() => fleet.mode === 'fleet', 5000, 'rejoined');
  });
});
