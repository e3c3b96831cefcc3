// The fault matrix row for node-redis (issue 5): each fault between the client and a
// real redis-server, INCRs counted server-side with a second client, GETs retried.
// Invariant in every cell: every call settles (a reply or an error, never hanging), the
// counter moved at most once per INCR (never a duplicate), and it moved at least once
// per INCR the caller saw succeed (never a lost write).
import { SpanKind, type Attributes } from '@opentelemetry/api';
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { OtelHarness } from '../../helpers/otel.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import {
  asCaller,
  connectedClient,
  dropClient,
  enableRedisAdapter,
  internalCallSpans,
  logicalCalls,
  NODE_REDIS_VERSIONS,
  type RedisAdapterSetup,
  type RedisClient,
} from '../../helpers/redis-adapter.js';

const CALLS = 4;

interface Outcomes<T> {
  replies: T[];
  errors: Array<Error & { code?: string }>;
}

async function settle<T>(calls: Array<() => Promise<T>>): Promise<Outcomes<T>> {
  // Each call as its own caller's: its attempts are the children of that caller's span.
  const results = await Promise.allSettled(calls.map((call) => asCaller(call)));
  const out: Outcomes<T> = { replies: [], errors: [] };
  for (const r of results) {
    if (r.status === 'fulfilled') out.replies.push(r.value);
    else out.errors.push(r.reason as Error);
  }
  return out;
}

for (const version of NODE_REDIS_VERSIONS) {
  describe(`redis adapter (${version.name}): the fault matrix`, function () {
    this.timeout(60_000);
    let server: RedisServer;
    let proxy: FaultProxy;
    let otel: OtelHarness;
    let setup: RedisAdapterSetup;
    let counter: RedisClient;
    const clients: RedisClient[] = [];
    let key: string;

    before(async () => {
      server = await redisServer();
    });
    beforeEach(async () => {
      otel = new OtelHarness().install();
      setup = enableRedisAdapter({}, version);
      proxy = await startFaultProxy({ host: server.host, port: server.port });
      counter = await connectedClient(setup.redis, { url: server.url });
      key = `bw:matrix:${Math.random().toString(36).slice(2)}`;
      await counter.set(key, '0');
    });
    afterEach(async () => {
      // Awaited: a client node-redis cannot close would reconnect for ever and keep the run alive.
      for (const c of clients.splice(0)) await dropClient(c);
      await dropClient(counter);
      await proxy.close();
      setup.adapter.disable();
      await otel.uninstall();
    });

    const viaProxy = (extra: object = {}) => ({ url: `redis://:${server.password}@127.0.0.1:${proxy.port}`, ...extra });

    /** A client through the proxy; `ready: false` for faults under which it never connects. */
    async function proxied(extra: object = {}, ready = true): Promise<RedisClient> {
      const client = setup.redis.createClient(viaProxy(extra) as never) as unknown as RedisClient;
      client.on('error', () => {});
      clients.push(client);
      const connecting = client.connect();
      if (ready) await connecting;
      else connecting.catch(() => {});
      return client;
    }

    async function counted(): Promise<number> {
      return Number(await counter.get(key));
    }

    /** Bytes the handshake (AUTH, CLIENT SETINFO) takes each way, measured on a clean connection. */
    async function handshake(): Promise<{ up: number; down: number }> {
      const before = proxy.stats();
      const probe = await connectedClient(setup.redis, viaProxy());
      const after = proxy.stats();
      await dropClient(probe);
      return { up: after.bytesToUpstream - before.bytesToUpstream, down: after.bytesToClient - before.bytesToClient };
    }

    const breakwaterSpans = () => otel.spans().filter((s) => s.instrumentationScope.name === 'breakwater');
    /** The logical calls of one operation; no INTERNAL call span exists by default. */
    const callsNamed = (operation: string) => {
      expect(internalCallSpans(otel.spans()), 'no call span by default').to.have.length(0);
      return logicalCalls(otel.spans()).filter((call) => call.attempts.some((a) => a.attributes['db.operation.name'] === operation));
    };

    /** The matrix's invariants on INCRs, spans and metrics. */
    async function expectNoDuplicateNoLoss(incr: Outcomes<number>, moved: number, attemptsPerIncr: (attrs: Attributes) => boolean): Promise<void> {
      expect(incr.replies.length + incr.errors.length, 'every call settled').to.equal(CALLS);
      expect(moved, 'never more than once per INCR').to.be.at.most(CALLS);
      expect(moved, 'every INCR the caller saw succeed ran').to.be.at.least(incr.replies.length);
      expect(new Set(incr.replies).size, 'no reply twice').to.equal(incr.replies.length);
      const calls = callsNamed('INCR');
      expect(calls, 'one group of attempt spans per logical call').to.have.length(CALLS);
      for (const { attempts, last } of calls) {
        expect(attempts.every((a) => a.kind === SpanKind.CLIENT && a.name === 'INCR')).to.equal(true);
        expect(attempts.map((a) => a.attributes['resilience.attempt'])).to.deep.equal(Array.from({ length: attempts.length }, (_, i) => i + 1));
        // The call's last attempt carries its outcome and suppression reason.
        expect(attemptsPerIncr(last.attributes), `attempts ${attempts.length}, ${JSON.stringify(last.attributes)}`).to.equal(true);
      }
      const metrics = await otel.collect();
      const attemptSpans = breakwaterSpans().filter((s) => s.kind === SpanKind.CLIENT).length;
      const points = metrics.get('resilience.attempts')?.dataPoints ?? [];
      const attemptsCounted = points.reduce((sum, point) => sum + (point.value as number), 0);
      expect(attemptsCounted, 'resilience.attempts counts every attempt span').to.equal(attemptSpans);
    }

    const incrs = (client: RedisClient) => Array.from({ length: CALLS }, () => () => client.incr(key));

    it('refused, default offline queue: INCRs wait offline and time out, never written; GETs retried', async () => {
      await proxy.setFault({ kind: 'refuse' });
      const client = await proxied({}, false);
      const incr = await settle(incrs(client));
      expect(incr.errors.map((e) => e.code)).to.deep.equal(Array(CALLS).fill('BREAKWATER_TIMEOUT'));
      const get = await settle([() => client.get(key)]);
      expect(get.errors[0]?.code).to.equal('BREAKWATER_TIMEOUT');
      await sleep(100);
      const moved = await counted();
      expect(moved, 'the timed-out INCRs left the offline queue').to.equal(0);
      await expectNoDuplicateNoLoss(incr, moved, (a) => a['resilience.retry.suppressed'] === 'not_idempotent');
      expect(callsNamed('GET')[0]!.attempts).to.have.length(3);
    });

    it('refused, disableOfflineQueue: "The client is offline" proves nothing was sent, so even INCR is retried', async () => {
      await proxy.setFault({ kind: 'refuse' });
      const client = await proxied({ disableOfflineQueue: true }, false);
      const incr = await settle(incrs(client));
      expect(incr.errors.map((e) => e.message)).to.deep.equal(Array(CALLS).fill('The client is offline'));
      expect(incr.errors[0]?.constructor.name).to.equal('ClientOfflineError');
      await expectNoDuplicateNoLoss(incr, await counted(), (a) => a['resilience.retry.suppressed'] === 'max_attempts');
      expect(callsNamed('INCR')[0]!.attempts).to.have.length(3);
    });

    it('reset before the request (reset_on_connect): nothing written, the counter does not move', async () => {
      await proxy.setFault({ kind: 'reset_on_connect' });
      const client = await proxied({ disableOfflineQueue: true }, false);
      const incr = await settle(incrs(client));
      expect(incr.errors).to.have.length(CALLS);
      expect(await counted()).to.equal(0);
      await expectNoDuplicateNoLoss(incr, 0, (a) => a['resilience.retry.suppressed'] === 'max_attempts');
    });

    it('reset after the request was sent: INCR fails to the caller with ECONNRESET and ran once; GET retried and succeeds', async () => {
      const { up } = await handshake();
      await proxy.setFault({ kind: 'reset_after_request', afterBytes: up + 1 });
      const client = await proxied();
      client.once('error', () => void proxy.setFault({ kind: 'none' }));
      // The INCRs are written together: the cut fails all of them, after the server ran them.
      const incr = await settle(incrs(client));
      expect(incr.errors.map((e) => e.code)).to.deep.equal(Array(CALLS).fill('ECONNRESET'));
      const moved = await counted();
      expect(moved).to.equal(CALLS);
      await expectNoDuplicateNoLoss(incr, moved, (a) => a['resilience.retry.suppressed'] === 'not_idempotent');
      expect(await client.get(key)).to.equal(String(CALLS));
    });

    it('cut mid-response: INCR not retried, the counter moved exactly once per call, the caller got the error', async () => {
      const { down } = await handshake();
      await proxy.setFault({ kind: 'cut_mid_response', afterBytes: down + 1 });
      const client = await proxied();
      client.once('error', () => void proxy.setFault({ kind: 'none' }));
      const incr = await settle(incrs(client));
      // node-redis reports the RST after a partial reply as the socket closing under it.
      for (const error of incr.errors) expect([error.code, error.constructor.name]).to.include.oneOf(['ECONNRESET', 'SocketClosedUnexpectedlyError']);
      expect(incr.errors).to.have.length(CALLS);
      const moved = await counted();
      expect(moved).to.equal(CALLS);
      await expectNoDuplicateNoLoss(incr, moved, (a) => a['resilience.retry.suppressed'] === 'not_idempotent');
    });

    it('delay past the timeout: INCR times out once and is not retried (it may still run late), GET retried to max_attempts', async () => {
      await proxy.setFault({ kind: 'delay', ms: 450 });
      const client = await proxied();
      const incr = await settle(incrs(client));
      expect(incr.errors.map((e) => e.code)).to.deep.equal(Array(CALLS).fill('BREAKWATER_TIMEOUT'));
      const get = await settle([() => client.get(key)]);
      expect(get.errors[0]?.code).to.equal('BREAKWATER_TIMEOUT');
      await sleep(1500); // the written INCRs reach the server late
      const moved = await counted();
      expect(moved, 'written once, run once').to.equal(CALLS);
      await expectNoDuplicateNoLoss({ replies: [], errors: incr.errors }, moved, (a) => a['resilience.retry.suppressed'] === 'not_idempotent');
      const getCall = callsNamed('GET')[0]!;
      expect(getCall.attempts).to.have.length(3);
      expect(getCall.last.attributes['resilience.retry.suppressed']).to.equal('max_attempts');
    });

    it('blackhole: the handshake never completes, INCRs time out in the offline queue and never run', async () => {
      await proxy.setFault({ kind: 'blackhole' });
      const client = await proxied({}, false);
      const incr = await settle(incrs(client));
      expect(incr.errors.map((e) => e.code)).to.deep.equal(Array(CALLS).fill('BREAKWATER_TIMEOUT'));
      expect(await counted()).to.equal(0);
      await expectNoDuplicateNoLoss(incr, 0, (a) => a['resilience.retry.suppressed'] === 'not_idempotent');
    });

    it('server restart: calls made while it is down wait offline; none runs twice, reads succeed once it is back', async () => {
      const client = await proxied();
      // One key per INCR, so a duplicated INCR and a lost one cannot cancel out in a sum.
      const keys = Array.from({ length: CALLS }, (_, i) => `${key}:${i}`);
      await server.stop();
      const incrsSettled = Promise.allSettled(keys.map((k) => asCaller(() => client.incr(k))));
      const gets = settle([() => client.get(key), () => client.get(key)]);
      await server.start();
      const [incrResults, getOutcome] = await Promise.all([incrsSettled, gets]);
      // The server lost its data on restart (no persistence): each key counts on the new one.
      const ran = await Promise.all(keys.map(async (k) => Number((await counter.get(k)) ?? 0)));
      const resolved = incrResults.map((r) => r.status === 'fulfilled');
      incrResults.forEach((result, i) => {
        if (result.status === 'fulfilled') {
          expect(result.value, `INCR ${i}: its reply`).to.equal(1);
          expect(ran[i], `INCR ${i} resolved: ran exactly once`).to.equal(1);
        } else {
          expect(ran[i], `INCR ${i} rejected (${(result.reason as { code?: string }).code}): ran at most once`).to.be.oneOf([0, 1]);
        }
      });
      // The spans say the same per call: the last attempt of a resolved call succeeded, a
      // rejected one was never replayed (it may have been written before the server went).
      const calls = callsNamed('INCR');
      expect(calls, 'one group of attempt spans per INCR').to.have.length(CALLS);
      const successes = calls.filter(({ last }) => last.attributes['resilience.outcome'] === 'success');
      expect(successes, 'a successful last attempt per resolved INCR').to.have.length(resolved.filter(Boolean).length);
      for (const { attempts, last } of calls) {
        expect(attempts.map((a) => a.attributes['resilience.attempt'])).to.deep.equal(Array.from({ length: attempts.length }, (_, i) => i + 1));
        if (last.attributes['resilience.outcome'] === 'success') expect(last.attributes['resilience.retry.suppressed']).to.equal(undefined);
        else expect(last.attributes['resilience.retry.suppressed'], JSON.stringify(last.attributes)).to.equal('not_idempotent');
      }
      const metrics = await otel.collect();
      const attemptsCounted = (metrics.get('resilience.attempts')?.dataPoints ?? []).reduce((sum, point) => sum + (point.value as number), 0);
      expect(attemptsCounted, 'resilience.attempts counts every attempt span').to.equal(breakwaterSpans().filter((s) => s.kind === SpanKind.CLIENT).length);
      expect(getOutcome.errors, 'both GETs answered once the server was back').to.deep.equal([]);
      expect(getOutcome.replies).to.have.length(2);
      // Once it is back, everything works again on the same client.
      await client.set(key, '10');
      expect(await client.incr(key)).to.equal(11);
    });

    it('recovery after an outage: the breaker opens, rejects without dialling, and closes once Redis answers again', async () => {
      setup.adapter.disable();
      setup = enableRedisAdapter({ BREAKWATER_BREAKER: 'consecutive', BREAKWATER_BREAKER_THRESHOLD: '2', BREAKWATER_BREAKER_OPEN_MS: '200' }, version);
      const client = await proxied({ disableOfflineQueue: true });
      const target = `redis://127.0.0.1:${proxy.port}/0`;
      await proxy.setFault({ kind: 'refuse' });
      proxy.resetAll();
      const down = await settle([() => client.get(key)]);
      expect(down.errors[0]?.message).to.equal('The client is offline');
      expect(setup.runtime.circuit(target).state).to.equal('open');
      const rejected = await settle([() => client.incr(key)]);
      expect(rejected.errors[0]?.code).to.equal('BREAKWATER_CIRCUIT_OPEN');
      await proxy.setFault({ kind: 'none' });
      if (!client.isReady) await new Promise<void>((resolve) => client.once('ready', () => resolve()));
      await sleep(250);
      expect(await client.incr(key)).to.equal(1);
      expect(setup.runtime.circuit(target).state).to.equal('closed');
      expect(await counted(), 'the rejected INCR never ran').to.equal(1);
    });
  });
}
