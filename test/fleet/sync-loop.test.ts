import { expect } from 'chai';
import { SyncedTarget, SyncLoop, type FleetMode, type SyncLoopOptions } from '../../src/fleet/sync-loop.js';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';

/** A target whose exchanges the test answers. */
class Probe extends SyncedTarget<string> {
  readonly sent: Array<{ at: number; resolve(reply: string): void; reject(error: Error): void }> = [];
  readonly applied: string[] = [];
  failures = 0;
  hold = false;

  constructor(loop: SyncLoop) {
    super(loop);
  }

  use(): void {
    this.touch();
  }

  news(): void {
    this.urgent();
  }

  isLive(now: number): boolean {
    return this.live(now);
  }

  protected override keepPolling(): boolean {
    return this.hold;
  }

  protected override send(): Promise<string> {
    return new Promise((resolve, reject) => this.sent.push({ at: this.loop.clock.now(), resolve, reject }));
  }

  protected override apply(reply: string): void {
    this.applied.push(reply);
  }

  protected override failed(): void {
    this.failures++;
  }
}

describe('fleet: SyncLoop (fake time)', () => {
  let clock: FakeClock;
  let modes: FleetMode[];
  let client: { ready: boolean };
  let loop: SyncLoop;

  function setup(options: Partial<SyncLoopOptions> = {}): void {
    clock = new FakeClock();
    modes = [];
    client = { ready: true };
    loop = new SyncLoop({ client, clock, syncMs: 100, minGapMs: 5, timeoutMs: 50, idleAfterMs: 300, onModeChange: (m) => modes.push(m), ...options });
  }

  afterEach(() => loop.close());

  it('a new target is synced in a prompt round, then on every regular round while used; one round in flight at most', async () => {
    setup();
    const a = new Probe(loop);
    const b = new Probe(loop);
    expect(a.mode).to.equal('local');
    await clock.advance(0);
    expect([a.sent.length, b.sent.length], 'both in the same round').to.deep.equal([1, 1]);
    // Nothing else starts while that round is in flight, prompt or regular.
    a.news();
    await clock.advance(150);
    expect([a.sent.length, b.sent.length]).to.deep.equal([1, 1]);
    a.sent[0]!.resolve('a1');
    b.sent[0]!.resolve('b1');
    await flushMicrotasks();
    expect(a.mode).to.equal('fleet');
    expect(modes).to.deep.equal(['fleet']);
    // The regular round asked for meanwhile runs at once: both (used since creation).
    expect([a.sent.length, b.sent.length]).to.deep.equal([2, 2]);
  });

  it('prompt rounds carry only the targets that asked, minGapMs apart', async () => {
    setup();
    const a = new Probe(loop);
    const b = new Probe(loop);
    await clock.advance(0);
    a.sent[0]!.resolve('x');
    b.sent[0]!.resolve('x');
    await flushMicrotasks();
    a.news();
    await clock.advance(4);
    expect(a.sent.length, 'minGapMs after the last round started').to.equal(1);
    await clock.advance(1);
    expect([a.sent.length, b.sent.length]).to.deep.equal([2, 1]);
    expect(a.sent[1]!.at).to.equal(5);
    a.sent[1]!.resolve('x');
    await flushMicrotasks();
    a.news();
    await clock.advance(4);
    expect(a.sent.length).to.equal(2);
    await clock.advance(1);
    expect(a.sent.length).to.equal(3);
    expect(a.sent[2]!.at - a.sent[1]!.at).to.equal(5);
  });

  it('goes local when a round is not answered, the client is not ready, or the answer is stale; back when answered', async () => {
    setup();
    const a = new Probe(loop);
    await clock.advance(0);
    a.sent[0]!.resolve('x');
    await flushMicrotasks();
    expect(a.isLive(clock.now())).to.equal(true);
    client.ready = false;
    expect([a.mode, loop.mode, a.isLive(clock.now())]).to.deep.equal(['local', 'local', false]);
    client.ready = true;
    await clock.advance(100);
    a.sent[1]!.reject(new Error('down'));
    await flushMicrotasks();
    expect([a.mode, a.failures, modes.at(-1)]).to.deep.equal(['local', 1, 'local']);
    a.use();
    await clock.advance(100);
    a.sent[2]!.resolve('back');
    await flushMicrotasks();
    expect([a.mode, modes.at(-1)]).to.deep.equal(['fleet', 'fleet']);
    // Stale: answered at 200; live until 200 + 2 * 100 + 50.
    await clock.advance(100); // the round at 300 is left unanswered
    expect(a.isLive(250 + 200)).to.equal(true);
    expect(a.isLive(451)).to.equal(false);
  });

  it('an unused target stops being polled after idleAfterMs (unless its owner keeps it), and is synced at once when used again', async () => {
    setup();
    const a = new Probe(loop);
    const held = new Probe(loop);
    held.hold = true;
    const answerAll = (): void => {
      for (const p of [a, held]) for (const s of p.sent.splice(0)) s.resolve('x');
    };
    await clock.advance(0);
    answerAll();
    let polls = 0;
    for (let i = 0; i < 10; i++) {
      await clock.advance(100);
      polls += a.sent.length;
      answerAll();
      await flushMicrotasks();
    }
    expect(polls, 'used at creation, then 300 ms quiet').to.equal(3);
    expect(a.mode).to.equal('local');
    expect(held.mode).to.equal('fleet');
    a.use();
    await clock.advance(5);
    expect(a.sent).to.have.length(1);
  });

  it('an owner that throws does not stop the loop; no timer while it has no targets; close() stops it', async () => {
    setup();
    const a = new Probe(loop);
    (a as unknown as { send(): never }).send = () => {
      throw new Error('bug');
    };
    await clock.advance(0);
    expect(a.failures).to.equal(1);
    const b = new Probe(loop);
    await clock.advance(5);
    expect(b.sent).to.have.length(1);
    b.sent[0]!.resolve('x');
    a.close();
    b.close();
    await clock.advance(200);
    expect(clock.allTimers, 'no targets: no timer').to.equal(0);
    const c = new Probe(loop);
    await clock.advance(100);
    expect(c.sent.length, 'added: rounds again').to.be.at.least(1);
    c.sent.splice(0).forEach((s) => s.resolve('x'));
    await clock.advance(100);
    expect(c.sent.length).to.equal(1);
    loop.close();
    c.news();
    await clock.advance(1000);
    expect(c.sent).to.have.length(1);
    expect(clock.allTimers).to.equal(0);
  });
});
