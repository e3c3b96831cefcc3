import { context, SpanKind, SpanStatusCode, trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { createPolicy } from '../../src/engine/policy.js';
import type { PolicyOptions } from '../../src/engine/options.js';
import { resetTargetLabels } from '../../src/telemetry/target-label.js';
import { configureTelemetry } from '../../src/telemetry/settings.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { OtelHarness, pointValue } from '../helpers/otel.js';

const TARGET = 'https://api.example.com:443';
const resetError = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

async function drive<T>(clock: FakeClock, promise: Promise<T>): Promise<unknown> {
  let done = false;
  let out: unknown;
  promise.then((v) => ((out = v), (done = true)), (e) => ((out = e), (done = true)));
  for (let i = 0; i < 1000 && !done; i++) await clock.advance(10);
  return out;
}

/** A call's attempt spans in attempt order. */
function byAttempt(spans: ReadableSpan[]): ReadableSpan[] {
  return [...spans].sort((a, b) => (a.attributes['resilience.attempt'] as number) - (b.attributes['resilience.attempt'] as number));
}

function makePolicy(options: PolicyOptions = {}) {
  const clock = new FakeClock();
  const policy = createPolicy({
    name: 'payments',
    clock,
    retry: { maxAttempts: 3, baseDelayMs: 100, jitter: 'none', budgetRatio: 10 },
    breaker: { mode: 'consecutive', threshold: 100 },
    ...options,
  });
  return { clock, policy };
}

describe('telemetry', () => {
  let otel: OtelHarness;
  beforeEach(() => {
    resetTargetLabels();
    otel = new OtelHarness().install();
  });
  afterEach(async () => {
    await otel.uninstall();
  });

  it('one span per attempt, child of the caller\'s span; the last carries the call\'s outcome; no call span by default', async () => {
    const { clock, policy } = makePolicy();
    const activeInAttempt: string[] = [];
    const caller = trace.getTracer('app').startSpan('caller');
    await drive(
      clock,
      context.with(trace.setSpan(context.active(), caller), () =>
        policy.execute(async ({ attempt, span }) => {
          activeInAttempt.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none');
          expect(span, 'the attempt span is handed to the operation').to.not.equal(undefined);
          if (attempt < 3) throw resetError();
          return 'ok';
        }, { target: TARGET, idempotent: true, client: 'http' }),
      ),
    );
    caller.end();
    const spans = otel.spans();
    expect(spans.map((s) => s.name).sort()).to.deep.equal(['caller', 'payments attempt', 'payments attempt', 'payments attempt']);
    const attempts = byAttempt(spans.filter((s) => s.name === 'payments attempt'));
    for (const a of attempts) {
      expect(a.parentSpanContext?.spanId).to.equal(caller.spanContext().spanId);
      expect(a.kind).to.equal(SpanKind.INTERNAL);
      expect(a.attributes).to.deep.include({ 'resilience.target': TARGET, 'resilience.client': 'http', 'resilience.policy': 'payments' });
    }
    expect(activeInAttempt).to.deep.equal(attempts.map((a) => a.spanContext().spanId));
    expect(attempts.map((a) => a.attributes['resilience.attempt'])).to.deep.equal([1, 2, 3]);
    expect(attempts.map((a) => a.attributes['http.request.resend_count'])).to.deep.equal([undefined, 1, 2]);
    expect(attempts.map((a) => a.attributes['resilience.retry.delay_ms'])).to.deep.equal([undefined, 100, 200]);
    expect(attempts.map((a) => a.attributes['resilience.outcome'])).to.deep.equal(['failure', 'failure', 'success']);
    // The failed attempts say what followed them: a retry after this long.
    expect(attempts.map((a) => a.events.filter((e) => e.name === 'resilience.retry.scheduled').map((e) => e.attributes))).to.deep.equal([
      [{ 'resilience.attempt': 2, 'resilience.retry.delay_ms': 100 }],
      [{ 'resilience.attempt': 3, 'resilience.retry.delay_ms': 200 }],
      [],
    ]);
    expect(attempts[0]!.attributes).to.deep.include({
      'resilience.outcome': 'failure',
      'resilience.error.category': 'network',
      'resilience.error.severity': 'medium',
      'resilience.error.transient': true,
      'error.type': 'ECONNRESET',
    });
    expect(attempts[0]!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(attempts[2]!.status.code).to.equal(SpanStatusCode.UNSET);
    for (const a of attempts) expect(a.attributes['resilience.retry.suppressed']).to.equal(undefined);
  });

  it('a failure not retried: the last attempt span carries the reason and the call\'s outcome', async () => {
    const { clock, policy } = makePolicy();
    await drive(clock, policy.execute(async () => Promise.reject(resetError()), { target: TARGET, client: 'http' }));
    await drive(clock, policy.execute(async () => Promise.reject(resetError()), { target: TARGET, client: 'http', idempotent: true }));
    const spans = otel.spans();
    expect(spans).to.have.length(4);
    const [notIdempotent, ...retried] = spans;
    expect(notIdempotent!.attributes).to.deep.include({ 'resilience.attempt': 1, 'resilience.outcome': 'failure', 'resilience.retry.suppressed': 'not_idempotent' });
    const last = byAttempt(retried);
    expect(last.map((s) => s.attributes['resilience.retry.suppressed'])).to.deep.equal([undefined, undefined, 'max_attempts']);
    expect(last.every((s) => s.ended)).to.equal(true);
  });

  it('a fallback: the last attempt span reads fallback, the error attributes stay', async () => {
    const { clock, policy } = makePolicy({ retry: false, fallback: () => 'cached' });
    expect(await drive(clock, policy.execute(async () => Promise.reject(resetError()), { target: TARGET }))).to.equal('cached');
    const [span] = otel.spans();
    expect(span!.attributes).to.deep.include({ 'resilience.outcome': 'fallback', 'resilience.retry.suppressed': 'max_attempts', 'resilience.error.category': 'network' });
  });

  it('BREAKWATER_CALL_SPANS: an INTERNAL span per call, parent of its attempts, with resilience.* only', async () => {
    configureTelemetry({ callSpans: true });
    try {
      const { clock, policy } = makePolicy();
      await drive(clock, policy.execute(async ({ attempt }) => (attempt < 3 ? Promise.reject(resetError()) : 'ok'), { target: TARGET, idempotent: true, client: 'http' }));
      const spans = otel.spans();
      const parent = spans.find((s) => s.name === `payments ${TARGET}`)!;
      expect(parent.kind).to.equal(SpanKind.INTERNAL);
      expect(parent.attributes).to.deep.include({
        'resilience.target': TARGET,
        'resilience.client': 'http',
        'resilience.policy': 'payments',
        'resilience.outcome': 'success',
        'resilience.attempt': 3,
      });
      expect(Object.keys(parent.attributes).filter((k) => k.startsWith('http.') || k.startsWith('db.'))).to.deep.equal([]);
      expect(parent.events.filter((e) => e.name === 'resilience.retry.scheduled').map((e) => e.attributes)).to.deep.equal([
        { 'resilience.attempt': 2, 'resilience.retry.delay_ms': 100 },
        { 'resilience.attempt': 3, 'resilience.retry.delay_ms': 200 },
      ]);
      const attempts = spans.filter((s) => s.name === 'payments attempt');
      expect(attempts).to.have.length(3);
      for (const a of attempts) expect(a.parentSpanContext?.spanId).to.equal(parent.spanContext().spanId);
    } finally {
      configureTelemetry({ callSpans: false });
    }
  });

  it('records the metric points of the telemetry reference with their attributes and units', async () => {
    const { clock, policy } = makePolicy();
    await drive(clock, policy.execute(async ({ attempt }) => (attempt < 3 ? Promise.reject(resetError()) : 'ok'), { target: TARGET, idempotent: true, client: 'http' }));
    await drive(clock, policy.execute(async () => Promise.reject(resetError()), { target: TARGET, client: 'http' }));
    const m = await otel.collect();
    const base = { 'resilience.target': TARGET, 'resilience.client': 'http' };
    expect(pointValue(m.get('resilience.attempts'), { ...base, 'resilience.outcome': 'failure', 'resilience.error.category': 'network' })).to.equal(3);
    expect(pointValue(m.get('resilience.attempts'), { ...base, 'resilience.outcome': 'success' })).to.equal(1);
    expect(m.get('resilience.attempts')!.dataPointType).to.equal(DataPointType.SUM);
    expect((m.get('resilience.attempts') as { isMonotonic?: boolean }).isMonotonic).to.equal(true);
    expect(pointValue(m.get('resilience.errors'), { ...base, 'resilience.error.category': 'network', 'resilience.error.severity': 'medium', 'resilience.error.transient': true })).to.equal(3);
    expect(pointValue(m.get('resilience.operation.duration'), { ...base, 'resilience.outcome': 'success' })).to.equal(1);
    expect(pointValue(m.get('resilience.operation.duration'), { ...base, 'resilience.outcome': 'failure' })).to.equal(1);
    expect(pointValue(m.get('resilience.retry.delay'), base)).to.equal(2);
    expect(pointValue(m.get('resilience.retries.suppressed'), { ...base, 'resilience.retry.suppressed': 'not_idempotent' })).to.equal(1);
    expect(m.has('resilience.attempt.duration'), 'per-attempt latency is the conventions\' metric now').to.equal(false);
    expect(m.get('resilience.attempts')!.descriptor.unit).to.equal('{attempt}');
    expect(m.get('resilience.retries.suppressed')!.descriptor.unit).to.equal('{retry}');
    // Counted in-process: a second collection reports the same cumulative totals, not twice them.
    const again = await otel.collect();
    expect(pointValue(again.get('resilience.attempts'), { ...base, 'resilience.outcome': 'failure', 'resilience.error.category': 'network' })).to.equal(3);
  });

  it('an adapter\'s attempts feed the conventions\' duration metric, with the result attributes it annotates', async () => {
    const { clock, policy } = makePolicy();
    const request = Object.freeze({ 'http.request.method': 'GET', 'server.address': 'api.example.com', 'server.port': 443, 'url.scheme': 'https' });
    const attemptSpan = { name: 'GET', kind: SpanKind.CLIENT, attributes: request, duration: { kind: 'http' as const, attributes: request } };
    await drive(
      clock,
      policy.execute(
        async (attempt) => {
          const status = attempt.attempt === 1 ? 503 : 200;
          attempt.annotate({ 'http.response.status_code': status }, status >= 400 ? { 'http.response.status_code': status, 'error.type': String(status) } : { 'http.response.status_code': status });
          if (status >= 400) throw Object.assign(new Error('Service Unavailable'), { status });
          return 'ok';
        },
        { target: TARGET, idempotent: true, client: 'http', attemptSpan },
      ),
    );
    const m = await otel.collect();
    const duration = m.get('http.client.request.duration')!;
    expect(duration.descriptor.unit).to.equal('s');
    expect(duration.dataPoints.map((p) => p.attributes).sort((a, b) => Number(a['http.response.status_code']) - Number(b['http.response.status_code']))).to.deep.equal([
      { ...request, 'http.response.status_code': 200 },
      { ...request, 'http.response.status_code': 503, 'error.type': '503' },
    ]);
    expect((duration.dataPoints[0]!.value as { buckets: { boundaries: number[] } }).buckets.boundaries).to.deep.equal([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    const spans = byAttempt(otel.spans());
    expect(spans.map((s) => s.attributes['http.response.status_code'])).to.deep.equal([503, 200]);
    expect(m.has('db.client.operation.duration')).to.equal(false);
  });

  it('a failure the adapter did not annotate gets error.type from its classification on the duration point', async () => {
    const { clock, policy } = makePolicy({ retry: false });
    const request = Object.freeze({ 'db.system.name': 'postgresql', 'server.address': 'db', 'server.port': 5432 });
    await drive(clock, policy.execute(async () => Promise.reject(resetError()), { target: 'postgresql://db:5432', client: 'pg', attemptSpan: { kind: SpanKind.CLIENT, attributes: request, duration: { kind: 'db', attributes: request } } }));
    const m = await otel.collect();
    expect(m.get('db.client.operation.duration')!.dataPoints.map((p) => p.attributes)).to.deep.equal([{ ...request, 'error.type': 'ECONNRESET' }]);
  });

  it('no duration point when another instrumentation\'s CLIENT span encloses the call (its attempt spans are INTERNAL)', async () => {
    const { clock, policy } = makePolicy();
    const request = Object.freeze({ 'db.system.name': 'postgresql' });
    await drive(clock, policy.execute(async () => 'ok', { target: 'postgresql://db:5432', client: 'pg', attemptSpan: { kind: SpanKind.INTERNAL, attributes: request, duration: { kind: 'db', attributes: request } } }));
    const m = await otel.collect();
    expect(m.has('db.client.operation.duration')).to.equal(false);
    expect(pointValue(m.get('resilience.attempts'), { 'resilience.outcome': 'success', 'resilience.client': 'pg' })).to.equal(1);
  });

  it('a breaker transition is a span, an event on the attempt that caused it, a counter and a gauge', async () => {
    // A name of its own: policies from earlier tests are still alive and report to the gauge too.
    const { clock, policy } = makePolicy({ name: 'transitions', retry: false, breaker: { mode: 'consecutive', threshold: 2, openMs: 1000 } });
    for (let i = 0; i < 3; i++) await drive(clock, policy.execute(async () => Promise.reject(resetError()), { target: TARGET }));
    const spans = otel.spans();
    const transition = spans.find((s) => s.name === 'resilience.circuit.transition')!;
    expect(transition.attributes).to.deep.include({ 'resilience.circuit.from': 'closed', 'resilience.circuit.to': 'open', 'resilience.target': TARGET });
    const causing = spans.find((s) => s.events.some((e) => e.name === 'resilience.circuit.transition'))!;
    expect(causing.name).to.equal('transitions attempt');
    expect(transition.parentSpanContext?.spanId).to.equal(causing.spanContext().spanId);
    // The third call never dialled: a short INTERNAL span says so.
    const rejections = spans.filter((s) => s.name === 'resilience.rejected');
    expect(rejections).to.have.length(1);
    expect(rejections[0]!.kind).to.equal(SpanKind.INTERNAL);
    expect(rejections[0]!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(rejections[0]!.attributes).to.deep.include({
      'resilience.outcome': 'rejected',
      'resilience.error.category': 'circuit_open',
      'error.type': 'BREAKWATER_CIRCUIT_OPEN',
      'resilience.attempt': 1,
      'resilience.target': TARGET,
    });
    expect(spans.filter((s) => s.name === 'transitions attempt')).to.have.length(2);
    const m = await otel.collect();
    expect(pointValue(m.get('resilience.circuit.transitions'), { 'resilience.circuit.from': 'closed', 'resilience.circuit.to': 'open' })).to.equal(1);
    expect(pointValue(m.get('resilience.circuit.rejections'), { 'resilience.target': TARGET })).to.equal(1);
    expect(pointValue(m.get('resilience.attempts'), { 'resilience.outcome': 'rejected', 'resilience.error.category': 'circuit_open' })).to.equal(1);
    const gauge = m.get('resilience.circuit.state');
    const mine = { 'resilience.target': TARGET, 'resilience.policy': 'transitions' };
    expect(pointValue(gauge, { ...mine, 'resilience.circuit.state': 'open' })).to.equal(1);
    expect(pointValue(gauge, { ...mine, 'resilience.circuit.state': 'closed' })).to.equal(0);
    policy.circuit(TARGET).reset();
    const after = await otel.collect();
    expect(pointValue(after.get('resilience.circuit.state'), { ...mine, 'resilience.circuit.state': 'closed' })).to.equal(1);
    expect(pointValue(after.get('resilience.circuit.transitions'), { 'resilience.circuit.from': 'open', 'resilience.circuit.to': 'closed' })).to.equal(1);
  });

  it('a call the caller cancelled is not recorded as an error', async () => {
    const { clock, policy } = makePolicy();
    const controller = new AbortController();
    const p = policy.execute(() => new Promise(() => {}), { target: TARGET, idempotent: true, signal: controller.signal });
    await clock.advance(1);
    controller.abort();
    await drive(clock, p);
    const [span] = otel.spans();
    expect(otel.spans()).to.have.length(1);
    expect(span!.attributes['resilience.outcome']).to.equal('cancelled');
    expect(span!.status.code).to.not.equal(SpanStatusCode.ERROR);
    const m = await otel.collect();
    expect(pointValue(m.get('resilience.attempts'), { 'resilience.outcome': 'cancelled' })).to.equal(1);
    expect(m.get('resilience.errors')?.dataPoints ?? []).to.have.length(0);
  });

  it('bounds the target label: past the limit new targets share one key', async () => {
    const { setTargetLabelLimit, OVERFLOW_TARGET } = await import('../../src/telemetry/target-label.js');
    setTargetLabelLimit(3);
    try {
      const { clock, policy } = makePolicy();
      for (let i = 0; i < 10; i++) await drive(clock, policy.execute(async () => 'ok', { target: `https://h${i}:443` }));
      const m = await otel.collect();
      const targets = new Set(m.get('resilience.attempts')!.dataPoints.map((p) => p.attributes['resilience.target']));
      expect([...targets].sort()).to.deep.equal(['https://h0:443', 'https://h1:443', 'https://h2:443', OVERFLOW_TARGET].sort());
    } finally {
      setTargetLabelLimit(1000);
    }
  });

  it('never records error messages, which may carry credentials or queries', async () => {
    const { clock, policy } = makePolicy({ retry: false });
    const secret = 'hunter2-password-token';
    await drive(clock, policy.execute(async () => Promise.reject(Object.assign(new Error(`auth failed for postgres://u:${secret}@db/app?token=${secret}`), { code: 'ECONNRESET' })), { target: TARGET }));
    const dump = JSON.stringify(otel.spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
    expect(dump).to.not.include(secret);
    const metricDump = JSON.stringify([...(await otel.collect()).values()].map((m) => m.dataPoints.map((p) => p.attributes)));
    expect(metricDump).to.not.include(secret);
  });

  it('a tracer that throws never reaches the caller', async () => {
    const broken: TracerProvider = {
      getTracer: () =>
        ({
          startSpan: () => {
            throw new Error('tracer broke');
          },
          startActiveSpan: () => {
            throw new Error('tracer broke');
          },
        }) as unknown as Tracer,
    };
    trace.disable();
    trace.setGlobalTracerProvider(broken);
    const { clock, policy } = makePolicy();
    expect(await drive(clock, policy.execute(async () => 'still works', { target: TARGET }))).to.equal('still works');
  });
});

describe('telemetry with no SDK registered', () => {
  it('creates nothing and costs nothing but works', async () => {
    const clock = new FakeClock();
    const policy = createPolicy({ clock, retry: { maxAttempts: 2, baseDelayMs: 1, budgetRatio: 10 } });
    expect(await drive(clock, policy.execute(async ({ span, attempt }) => (span === undefined && attempt === 2 ? 'no span' : Promise.reject(resetError())), { target: TARGET, idempotent: true }))).to.equal('no span');
  });
});
