// The ioredis row of the fault matrix (issue 5): every fault, an INCR (not idempotent)
// and a GET (idempotent), with the side effects counted on the server through a
// separate connection, the caller's outcome, the spans and the metrics.
import { SpanKind } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import type { Redis as RedisClient } from 'ioredis';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { getClassification } from '../../../src/errors.js';
import type { Runtime } from '../../../src/runtime/runtime.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import type { Fault, FaultProxy } from '../../helpers/fault-proxy.js';
import { OtelHarness } from '../../helpers/otel.js';
import { client, enableIoredis, IOREDIS_VERSIONS, testRuntime, uniqueKey, waitReady, type IoredisModule } from '../../helpers/ioredis-setup.js';
import { eventually, measureHandshake, newProxy, proxiedOptions, type Handshake } from '../../helpers/ioredis-faults.js';

const TIMEOUT_MS = 300;

interface Outcome {
  value: unknown;
  error: unknown;
}

function sumPoints(metric: MetricData | undefined, match: Record<string, unknown>): number {
  let total = 0;
  for (const point of metric?.dataPoints ?? []) {
    const attrs = point.attributes as Record<string, unknown>;
    if (Object.entries(match).every(([k, v]) => attrs[k] === v)) total += point.value as number;
  }
  return total;
}

for (const version of IOREDIS_VERSIONS) {
  describe(`ioredis fault matrix: no duplicate writes, no lost calls (${version.name})`, function () {
    this.timeout(60_000);
    let server: RedisServer;
    let otel: OtelHarness;
    let runtime: Runtime;
    let adapter: Adapter;
    let ioredis: IoredisModule;
    let proxy: FaultProxy;
    let direct: RedisClient;
    let handshake: Handshake;
    const clients: RedisClient[] = [];

    before(async function () {
      this.timeout(600_000);
      server = await redisServer();
      otel = new OtelHarness().install();
      runtime = testRuntime({ BREAKWATER_TIMEOUT_MS: String(TIMEOUT_MS), BREAKWATER_RETRY_MAX_ATTEMPTS: '3' });
      ({ adapter, ioredis } = enableIoredis(runtime, version));
      proxy = await newProxy(server);
      direct = client(ioredis.Redis, { host: server.host, port: server.port, password: server.password });
      await waitReady(direct);
      handshake = await measureHandshake(ioredis.Redis, proxy, server);
    });

    after(async () => {
      for (const c of clients) c.disconnect();
      direct.disconnect();
      await proxy.close();
      adapter.disable();
      await otel.uninstall();
    });

    beforeEach(async () => {
      await proxy.setFault({ kind: 'none' });
      otel.reset();
    });

    /** A client through the proxy whose first connection has `fault`; ready first unless the fault prevents it. */
    async function clientThrough(fault: Fault, waitForReady: boolean): Promise<RedisClient> {
      await proxy.setFault(fault);
      const c = client(ioredis.Redis, proxiedOptions(proxy, server));
      clients.push(c);
      if (waitForReady) {
        await waitReady(c, 10_000);
        await proxy.setFault({ kind: 'none' }); // reconnections are clean
      }
      return c;
    }

    async function run(call: () => Promise<unknown>): Promise<Outcome> {
      return call().then(
        (value) => ({ value, error: undefined }),
        (error: unknown) => ({ value: undefined, error }),
      );
    }

    /** After the fault: the client recovers and nothing abandoned or cut is sent later. */
    async function recover(c: RedisClient, cell: Cell): Promise<void> {
      await proxy.setFault({ kind: 'none' });
      if (cell.slowConnection === true) {
        // the delayed connection stays slow: start a clean one
        c.disconnect(true);
        await eventually(() => c.status !== 'ready', 5000, 'disconnected');
      }
      if (c.status !== 'ready') {
        // a blackholed connection never ends by itself: drop it, ioredis reconnects
        if (c.status === 'connect') c.disconnect(true);
        await eventually(() => c.status === 'ready', 10_000, 'reconnected');
      }
      expect(await c.ping()).to.equal('PONG');
    }

    /** One call's attempt spans, and its last (which carries the call's outcome and suppression reason). */
    function spansOf(operation: string) {
      const attempts = otel.spans().filter((s) => s.instrumentationScope.name === 'breakwater' && s.name === operation);
      // One logical call: attempts numbered 1..n, each a child of the caller's context (a root here), no call span.
      expect(attempts.map((s) => s.attributes['resilience.attempt'])).to.deep.equal(Array.from({ length: attempts.length }, (_, i) => i + 1));
      expect(attempts.every((s) => s.parentSpanContext === undefined)).to.equal(true);
      expect(otel.spans().filter((s) => s.instrumentationScope.name === 'breakwater' && s.kind === SpanKind.INTERNAL)).to.have.length(0);
      return { attempts, last: attempts.at(-1) };
    }

    interface Cell {
      fault: string;
      make: () => Fault;
      ready: boolean;
      /** The faulty connection stays up (and slow): recovery needs a new one. */
      slowConnection?: boolean;
      incr: { count: number; category: string | undefined; attempts: number; suppressed?: string };
      get: { succeeds: boolean; attempts: number; category?: string };
    }

    const cells: Cell[] = [
      {
        fault: 'refused',
        make: () => ({ kind: 'refuse' }),
        ready: false,
        // never written: every attempt may be retried; each one times out queued offline
        incr: { count: 0, category: 'timeout', attempts: 3, suppressed: 'max_attempts' },
        get: { succeeds: false, attempts: 3, category: 'timeout' },
      },
      {
        fault: 'reset before the request',
        make: () => ({ kind: 'reset_on_connect' }),
        ready: false,
        incr: { count: 0, category: 'timeout', attempts: 3, suppressed: 'max_attempts' },
        get: { succeeds: false, attempts: 3, category: 'timeout' },
      },
      {
        fault: 'reset after the request was sent',
        make: () => ({ kind: 'reset_after_request', afterBytes: handshake.up + 1 }),
        ready: true,
        incr: { count: 1, category: 'network', attempts: 1, suppressed: 'not_idempotent' },
        get: { succeeds: true, attempts: 2 },
      },
      {
        fault: 'cut mid-response',
        make: () => ({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 }),
        ready: true,
        incr: { count: 1, category: 'network', attempts: 1, suppressed: 'not_idempotent' },
        get: { succeeds: true, attempts: 2 },
      },
      {
        fault: 'delay past the timeout',
        make: () => ({ kind: 'delay', ms: TIMEOUT_MS * 2 }),
        ready: true,
        slowConnection: true,
        incr: { count: 1, category: 'timeout', attempts: 1, suppressed: 'not_idempotent' },
        get: { succeeds: false, attempts: 3, category: 'timeout' },
      },
      {
        fault: 'blackhole',
        make: () => ({ kind: 'blackhole' }),
        ready: false,
        incr: { count: 0, category: 'timeout', attempts: 3, suppressed: 'max_attempts' },
        get: { succeeds: false, attempts: 3, category: 'timeout' },
      },
    ];

    for (const cell of cells) {
      describe(cell.fault, () => {
        it(`INCR: counted ${cell.incr.count} time(s); ${cell.incr.count === 0 ? 'never sent later' : 'not retried, not re-sent'}; the caller gets a ${cell.incr.category} error`, async () => {
          const key = uniqueKey('matrix-incr');
          const c = await clientThrough(cell.make(), cell.ready);
          const before = await otel.collect();
          const { value, error } = await run(() => c.incr(key));
          expect(value, 'no reply').to.equal(undefined);
          expect(getClassification(error)?.category).to.equal(cell.incr.category);
          if (cell.incr.count > 0) await eventually(async () => (await direct.get(key)) === String(cell.incr.count), 5000, 'the INCR reached the server');
          await recover(c, cell);
          expect(await direct.get(key)).to.equal(cell.incr.count === 0 ? null : String(cell.incr.count));

          const { attempts, last } = spansOf('INCR');
          expect(attempts).to.have.length(cell.incr.attempts);
          expect(attempts.every((s) => s.kind === SpanKind.CLIENT && s.attributes['resilience.outcome'] === 'failure')).to.equal(true);
          expect(last?.attributes['resilience.retry.suppressed']).to.equal(cell.incr.suppressed);
          const after = await otel.collect();
          const failures = (m: Map<string, MetricData>) => sumPoints(m.get('resilience.attempts'), { 'resilience.client': 'ioredis', 'resilience.outcome': 'failure' });
          expect(failures(after) - failures(before)).to.equal(cell.incr.attempts);
          if (cell.incr.suppressed === 'not_idempotent') {
            const suppressed = (m: Map<string, MetricData>) =>
              sumPoints(m.get('resilience.retries.suppressed'), { 'resilience.client': 'ioredis', 'resilience.retry.suppressed': 'not_idempotent' });
            expect(suppressed(after) - suppressed(before)).to.equal(1);
          }
          // After recovery the client works and the count does not move again.
          expect(await c.incr(key)).to.equal(cell.incr.count + 1);
        });

        it(`GET: ${cell.get.succeeds ? 'retried and succeeds' : `fails with ${cell.get.category} after ${cell.get.attempts} attempts`}`, async () => {
          const key = uniqueKey('matrix-get');
          await direct.set(key, 'v');
          const c = await clientThrough(cell.make(), cell.ready);
          const { value, error } = await run(() => c.get(key));
          if (cell.get.succeeds) expect(value).to.equal('v');
          else expect(getClassification(error)?.category).to.equal(cell.get.category);
          const { attempts, last } = spansOf('GET');
          expect(attempts).to.have.length(cell.get.attempts);
          expect(last?.attributes['resilience.outcome']).to.equal(cell.get.succeeds ? 'success' : 'failure');
          await recover(c, cell);
        });
      });
    }

    describe('server restart', () => {
      // The title's promise needs attempts that outlast the restart: with the matrix's
      // 300 ms the INCR could also time out unsent, and the cell would prove neither.
      const RESTART_TIMEOUT_MS = 15_000;
      let restartAdapter: Adapter;

      before(() => {
        adapter.disable();
        ({ adapter: restartAdapter } = enableIoredis(testRuntime({ BREAKWATER_TIMEOUT_MS: String(RESTART_TIMEOUT_MS), BREAKWATER_RETRY_MAX_ATTEMPTS: '3' }), version));
      });

      after(() => {
        restartAdapter.disable();
        ({ adapter } = enableIoredis(runtime, version));
      });

      it('an INCR issued while the server is down is sent once after it is back; a GET on the restarted server works', async () => {
        const c = client(ioredis.Redis, { host: server.host, port: server.port, password: server.password });
        clients.push(c);
        await waitReady(c);
        const key = uniqueKey('restart');
        await server.stop();
        await eventually(() => c.status !== 'ready', 5000, 'client saw the server go');
        const pending = run(() => c.incr(key));
        await server.start();
        const { value, error } = await pending;
        expect(error, 'the INCR waited offline and was answered').to.equal(undefined);
        expect(value).to.equal(1);
        await eventually(() => c.status === 'ready', 10_000, 'reconnected');
        await c.ping();
        expect(await direct.get(key), 'sent once').to.equal('1');
        const { attempts, last } = spansOf('INCR');
        expect(attempts, 'one attempt: it waited in the offline queue, no retry').to.have.length(1);
        expect(last?.attributes['resilience.outcome']).to.equal('success');
        expect(await c.get(key)).to.equal('1');
      });
    });

    describe('recovery after an outage (breaker)', () => {
      let breakerAdapter: Adapter;
      let breakerRuntime: Runtime;

      before(() => {
        adapter.disable();
        breakerRuntime = testRuntime({
          BREAKWATER_TIMEOUT_MS: String(TIMEOUT_MS),
          BREAKWATER_RETRY_MAX_ATTEMPTS: '1',
          BREAKWATER_BREAKER: 'consecutive',
          BREAKWATER_BREAKER_THRESHOLD: '2',
          BREAKWATER_BREAKER_OPEN_MS: '300',
        });
        ({ adapter: breakerAdapter } = enableIoredis(breakerRuntime, version));
      });

      after(() => {
        breakerAdapter.disable();
        ({ adapter } = enableIoredis(runtime, version));
      });

      it('calls fail during the outage, the breaker opens and rejects without dialling, then closes when the server is back', async () => {
        const c = await clientThrough({ kind: 'none' }, true);
        const key = uniqueKey('outage');
        await direct.set(key, 'ok');
        await proxy.setFault({ kind: 'refuse' });
        proxy.resetAll();
        const failures: Outcome[] = [];
        for (let i = 0; i < 3; i++) failures.push(await run(() => c.get(key)));
        expect(failures.every((f) => f.error !== undefined)).to.equal(true);
        expect((failures[2]!.error as { code?: string }).code).to.equal('BREAKWATER_CIRCUIT_OPEN');
        const target = `redis://${proxy.host}:${proxy.port}/0`;
        expect(breakerRuntime.circuit(target).state).to.equal('open');
        await proxy.setFault({ kind: 'none' });
        await eventually(() => c.status === 'ready', 10_000, 'reconnected');
        await eventually(async () => (await run(() => c.get(key))).value === 'ok', 5000, 'a probe succeeded');
        expect(breakerRuntime.circuit(target).state).to.equal('closed');
        const metrics = await otel.collect();
        expect(sumPoints(metrics.get('resilience.circuit.transitions'), { 'resilience.circuit.to': 'open' })).to.be.greaterThan(0);
        expect(sumPoints(metrics.get('resilience.circuit.transitions'), { 'resilience.circuit.to': 'closed' })).to.be.greaterThan(0);
      });
    });
  });
}
