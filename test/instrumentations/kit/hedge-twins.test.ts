// kit/hedge-twins.ts with a fake client library: when a twin is opened, reopened and
// closed, what the engine is told, and that a failing driver never fails a call.
import { context, trace } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { expect } from 'chai';
import { HedgeTwins, type TwinDriver } from '../../../instrumentations/kit/hedge-twins.js';
import { OtelHarness } from '../../helpers/otel.js';
import { hedgingRuntime } from '../../helpers/hedging.js';
import { loadConfig } from '../../../src/config/index.js';
import { Runtime } from '../../../src/runtime/runtime.js';

interface FakeClient {
  target: string;
  ready: boolean;
  /** Something about it rules hedging out for good (a subscriber, a cache tied to its connection). */
  never?: boolean;
  onClosed?: () => void;
}

interface FakeTwin {
  ready: boolean;
  closed: boolean;
  /** Whether tracing was suppressed when it was opened. */
  openedSuppressed: boolean;
}

const HEDGED = 'redis://hedged:6379/0';

type Failing = 'open' | 'canOpen' | 'mayHedge';

function fakeDriver(): TwinDriver<FakeClient, FakeTwin> & { opened: FakeTwin[]; fail?: Failing } {
  const driver = {
    opened: [] as FakeTwin[],
    fail: undefined as Failing | undefined,
    targetOf: (client: FakeClient) => client.target,
    mayHedge(client: FakeClient) {
      if (driver.fail === 'mayHedge') throw new Error('internals changed');
      return client.never !== true;
    },
    canOpen(client: FakeClient) {
      if (driver.fail === 'canOpen') throw new Error('internals changed');
      return client.ready;
    },
    open() {
      if (driver.fail === 'open') throw new Error('internals changed');
      const twin = { ready: false, closed: false, openedSuppressed: isTracingSuppressed(context.active()) };
      driver.opened.push(twin);
      return twin;
    },
    isReady: (twin: FakeTwin) => twin.ready && !twin.closed,
    isClosed: (twin: FakeTwin) => twin.closed,
    close(twin: FakeTwin) {
      twin.closed = true;
    },
    onClientClosed(client: FakeClient, listener: () => void) {
      // Once, as the real drivers listen.
      const once = () => {
        client.onClosed = undefined;
        listener();
      };
      client.onClosed = once;
      return () => {
        if (client.onClosed === once) client.onClosed = undefined;
      };
    },
  };
  return driver;
}

describe('kit/hedge-twins', () => {
  let otel: OtelHarness;
  let time: number;
  let driver: ReturnType<typeof fakeDriver>;
  let twins: HedgeTwins<FakeClient, FakeTwin>;
  let client: FakeClient;

  before(() => {
    otel = new OtelHarness().install();
  });
  after(async () => {
    await otel.uninstall();
  });
  beforeEach(() => {
    time = 1_000_000;
    driver = fakeDriver();
    // Only targets matching redis://hedged* hedge: the defaults do not.
    const runtime = hedgingRuntime(1);
    const config = { ...runtime.config, defaults: loadConfig({}).defaults, targets: [{ match: 'redis://hedged*', policy: runtime.config.defaults }] };
    twins = new HedgeTwins(new Runtime(config), driver, () => time);
    client = { target: HEDGED, ready: true };
  });

  it('is inactive, and opens nothing, when no policy of the configuration hedges', () => {
    const plain = new HedgeTwins(new Runtime(loadConfig({})), driver, () => time);
    expect(plain.active).to.equal(false);
    expect(twins.active).to.equal(true);
  });

  it('a client whose target does not hedge gets no twin and no hedgeable function', () => {
    expect(twins.canHedge({ target: 'redis://plain:6379/0', ready: true })).to.equal(undefined);
    expect(driver.opened).to.have.length(0);
  });

  it('opens one twin on the first hedgeable call, with tracing suppressed; says no until it is ready, then yes', () => {
    const canHedge = twins.canHedge(client)!;
    expect(driver.opened).to.have.length(1);
    expect(driver.opened[0]!.openedSuppressed, 'no instrumentation records its set-up').to.equal(true);
    expect(canHedge()).to.equal(false);
    expect(twins.twinOf(client)).to.equal(undefined);
    driver.opened[0]!.ready = true;
    expect(canHedge()).to.equal(true);
    expect(twins.twinOf(client)).to.equal(driver.opened[0]);
    expect(twins.isTwin(driver.opened[0])).to.equal(true);
    expect(twins.isTwin(client)).to.equal(false);
    expect(twins.canHedge(client), 'one function per client, not one per call').to.equal(canHedge);
    expect(driver.opened).to.have.length(1);
  });

  it('a client the driver rules out is never hedged, and asked once', () => {
    client.never = true;
    expect(twins.canHedge(client)).to.equal(undefined);
    client.never = false;
    expect(twins.canHedge(client)).to.equal(undefined);
    expect(driver.opened).to.have.length(0);
  });

  it('opens none for a client not ready, and tries again on a later call', () => {
    client.ready = false;
    expect(twins.canHedge(client)!()).to.equal(false);
    expect(driver.opened).to.have.length(0);
    client.ready = true;
    twins.canHedge(client);
    expect(driver.opened).to.have.length(1);
  });

  it('a lost twin is replaced on a later call: at once when it had carried a hedge, else no sooner than the backoff (1 s doubling to 30 s)', () => {
    /** Loses the newest twin, lets `ms` pass, makes a hedgeable call: how many twins were opened in all. */
    const loseAndCallAfter = (ms: number): number => {
      driver.opened.at(-1)!.closed = true;
      time += ms;
      twins.canHedge(client);
      return driver.opened.length;
    };
    twins.canHedge(client);
    expect(loseAndCallAfter(999), 'within 1 s of the last').to.equal(1);
    expect(loseAndCallAfter(1), 'after 1 s').to.equal(2);
    expect(loseAndCallAfter(1_999), 'within 2 s of the last').to.equal(2);
    expect(loseAndCallAfter(1), 'after 2 s').to.equal(3);
    driver.opened[2]!.ready = true;
    expect(twins.canHedge(client)!(), 'it carries a hedge').to.equal(true);
    expect(loseAndCallAfter(0), 'at once after a twin that worked').to.equal(4);
    expect(loseAndCallAfter(999), 'then 1 s again').to.equal(4);
    expect(loseAndCallAfter(1)).to.equal(5);
    for (let i = 0; i < 8; i++) loseAndCallAfter(30_000);
    expect(loseAndCallAfter(29_999), 'the wait stops growing at 30 s').to.equal(13);
    expect(loseAndCallAfter(1)).to.equal(14);
  });

  it('closes the twin when its client is closed; a client used again starts afresh', () => {
    twins.canHedge(client);
    const first = driver.opened[0]!;
    client.onClosed!();
    expect(first.closed).to.equal(true);
    expect(client.onClosed, 'stops listening').to.equal(undefined);
    twins.canHedge(client);
    expect(driver.opened).to.have.length(2);
  });

  it('stop(): the twin is closed and the client never hedged again', () => {
    twins.canHedge(client);
    twins.stop(client);
    expect(driver.opened[0]!.closed).to.equal(true);
    expect(client.onClosed).to.equal(undefined);
    time += 60_000;
    expect(twins.canHedge(client)).to.equal(undefined);
    expect(driver.opened).to.have.length(1);
  });

  it('closeAll() closes every open twin; their clients get new ones on their next call', () => {
    const other: FakeClient = { target: HEDGED, ready: true };
    twins.canHedge(client);
    twins.canHedge(other);
    twins.closeAll();
    expect(driver.opened.map((t) => t.closed)).to.deep.equal([true, true]);
    time += 1_000;
    twins.canHedge(client);
    expect(driver.opened).to.have.length(3);
  });

  for (const fail of ['open', 'canOpen', 'mayHedge'] as const) {
    it(`a driver whose ${fail}() throws opens nothing and never throws into the call`, () => {
      driver.fail = fail;
      const canHedge = twins.canHedge(client);
      expect(canHedge?.() ?? false).to.equal(false);
      expect(driver.opened).to.have.length(0);
    });
  }

  it('runs with the caller\'s context untouched', () => {
    const span = trace.getTracer('test').startSpan('caller');
    context.with(trace.setSpan(context.active(), span), () => {
      twins.canHedge(client);
      expect(trace.getSpan(context.active())).to.equal(span);
      expect(isTracingSuppressed(context.active())).to.equal(false);
    });
    span.end();
  });
});
