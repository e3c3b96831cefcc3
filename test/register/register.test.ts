import { expect } from 'chai';
import { metricPoints, OtlpReceiver } from '../helpers/otlp-receiver.js';
import { runChild, startChild } from '../helpers/child.js';

const REGISTER = 'breakwater/register';
const APP = 'test/fixtures/register/app.cjs';
const ESM_APP = 'test/fixtures/register/app.mjs';

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

/** Fast retries; telemetry to the receiver as OTLP/HTTP JSON. */
function exportTo(receiver: OtlpReceiver, extra: Record<string, string> = {}): Record<string, string> {
  return {
    BREAKWATER_RETRY_BASE_DELAY_MS: '1',
    BREAKWATER_RETRY_MAX_DELAY_MS: '2',
    OTEL_SERVICE_NAME: 'register-test',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_METRIC_EXPORT_INTERVAL: '600000',
    ...extra,
  };
}

describe('breakwater/register', () => {
  let receiver: OtlpReceiver;
  beforeEach(async () => {
    receiver = await OtlpReceiver.start();
  });
  afterEach(() => receiver.close());

  it('stops start-up on a bad variable, naming it, its value and what is accepted, before the app runs', async () => {
    const result = await runChild(['--require', REGISTER, APP], { BREAKWATER_RETRY_JITTER: 'fulll', BREAKWATER_BREAKER: 'sometimes' });
    expect(result.code).to.equal(1);
    expect(result.stdout, 'the application never ran').to.equal('');
    expect(result.stderr).to.include('BREAKWATER_RETRY_JITTER="fulll" is not accepted: expected one of none, full, equal, decorrelated (did you mean full?)');
    expect(result.stderr, 'every problem at once').to.include('BREAKWATER_BREAKER="sometimes"');
    expect(result.stderr, 'a message, not a stack trace').not.to.match(/\n\s+at /);
  });

  it('does nothing with BREAKWATER_ENABLED=false', async () => {
    const result = await runChild(['--require', REGISTER, APP], { BREAKWATER_ENABLED: 'false', ...exportTo(receiver) });
    expect(result.code).to.equal(0);
    expect(lastJson(result.stdout)).to.deep.equal({ runtime: false });
    expect(receiver.spans).to.have.length(0);
  });

  for (const flag of ['--require', '--import'] as const) {
    it(`${flag}: starts the SDK, exports spans and metrics over OTLP/HTTP, and the process exits by itself`, async () => {
      const result = await runChild([flag, REGISTER, APP], exportTo(receiver));
      expect(result.code, result.stderr).to.equal(0);
      expect(lastJson(result.stdout)).to.deep.equal({ runtime: true, result: 'ok', calls: 2 });
      // One span per attempt, no span for the call (BREAKWATER_CALL_SPANS is off by default).
      const names = receiver.spans.map((s) => s.name).sort();
      expect(names).to.deep.equal(['default attempt', 'default attempt']);
      expect(receiver.spans[0]!.resource['service.name']).to.equal('register-test');
      const retry = receiver.spans.find((s) => s.attributes['resilience.attempt'] === 2);
      expect(retry?.attributes['resilience.target']).to.equal('http://127.0.0.1:9');
      expect([...receiver.metricNames]).to.include.members(['resilience.attempts', 'resilience.errors', 'resilience.retry.delay', 'resilience.operation.duration']);
      // Histogram points are held in the process between collections
      // (src/telemetry/batched-histogram.ts): the export at shutdown has every one.
      const count = (metric: string): number => metricPoints(receiver.rawBodies).filter((p) => p.metric === metric).reduce((sum, p) => sum + p.value, 0);
      expect(count('resilience.operation.duration'), 'one point for the one call').to.equal(1);
      expect(count('resilience.retry.delay'), 'one point for its one retry').to.equal(1);
    });
  }

  it('BREAKWATER_CALL_SPANS=true: the call span too, parent of both attempts', async () => {
    const result = await runChild(['--require', REGISTER, APP], exportTo(receiver, { BREAKWATER_CALL_SPANS: 'true' }));
    expect(result.code, result.stderr).to.equal(0);
    const call = receiver.spans.find((s) => s.name === 'default http://127.0.0.1:9');
    expect(call?.attributes['resilience.attempt'], 'the call span, with the number of attempts').to.equal(2);
    const attempts = receiver.spans.filter((s) => s.name === 'default attempt');
    expect(attempts).to.have.length(2);
    for (const a of attempts) expect(a.parentSpanId).to.equal(call!.spanId);
  });

  it("records the process's first outbound call in full: the call that starts the SDK has its attributes and sends its traceparent", async () => {
    const result = await runChild(['--require', REGISTER, APP, 'first-http-call'], exportTo(receiver));
    expect(result.code, result.stderr).to.equal(0);
    const out = lastJson(result.stdout);
    expect(out.body).to.equal('ok');
    const clients = receiver.spans.filter((s) => s.kind === 3); // SpanKind.CLIENT in OTLP
    expect(clients.map((s) => s.name)).to.deep.equal(['GET']);
    const span = clients[0]!;
    expect(span.attributes['url.full'], 'the query string value redacted').to.equal(`http://127.0.0.1:${String(out.port)}/first?token=REDACTED`);
    expect(span.attributes['server.port']).to.equal(out.port);
    expect(out.traceparent, 'the attempt span went out as traceparent').to.be.a('string');
    expect(String(out.traceparent)).to.include(span.traceId);
    // With no official http instrumentation breakwater records the conventions' duration
    // itself; its point, held in the process, is in the export at shutdown.
    const durations = metricPoints(receiver.rawBodies).filter((p) => p.metric === 'http.client.request.duration');
    expect(durations.map((p) => [p.scope, p.attributes['http.response.status_code'], p.value])).to.deep.equal([['breakwater', 200, 1]]);
  });

  it('an ESM application under --import sees the same runtime as register', async () => {
    const result = await runChild(['--import', REGISTER, ESM_APP], exportTo(receiver));
    expect(result.code, result.stderr).to.equal(0);
    expect(lastJson(result.stdout)).to.deep.equal({ runtime: true, result: 'ok' });
    expect(receiver.spans.map((s) => s.name)).to.include('default attempt');
  });

  it('uses the providers the application registered itself instead of starting its own', async () => {
    const result = await runChild(['--require', REGISTER, APP, 'own-providers'], exportTo(receiver));
    expect(result.code, result.stderr).to.equal(0);
    const out = lastJson(result.stdout);
    expect(out.ownSpans).to.have.members(['default attempt', 'default attempt']);
    expect(receiver.spans, 'breakwater started no SDK of its own').to.have.length(0);
  });

  it('with OTEL_SDK_DISABLED=true records nothing but still retries', async () => {
    const result = await runChild(['--require', REGISTER, APP], exportTo(receiver, { OTEL_SDK_DISABLED: 'true' }));
    expect(result.code, result.stderr).to.equal(0);
    expect(lastJson(result.stdout)).to.deep.equal({ runtime: true, result: 'ok', calls: 2 });
    expect(receiver.spans).to.have.length(0);
    expect(receiver.metricNames.size).to.equal(0);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal}, flushes spans and ends the process as the signal would have`, async () => {
      const running = startChild(['--require', REGISTER, APP, 'serve'], exportTo(receiver, { OTEL_BSP_SCHEDULE_DELAY: '600000' }));
      const line = JSON.parse(await running.firstLine) as Record<string, unknown>;
      expect(line.result).to.equal('ok');
      expect(receiver.spans, 'nothing exported before the signal (batch delay is long)').to.have.length(0);
      running.child.kill(signal);
      const result = await running.done;
      expect(result.signal, result.stderr).to.equal(signal);
      expect(receiver.spans.map((s) => s.name)).to.deep.equal(['default attempt', 'default attempt']);
    });
  }

  it('leaves an application that handles the signal itself in charge', async () => {
    const script = `
      process.on('SIGTERM', () => { console.log('app handler'); setTimeout(() => process.exit(7), 50); });
      require('breakwater').currentRuntime().execute(async () => 1, { target: 'http://127.0.0.1:9' }).then(() => console.log('ready'));
      setInterval(() => {}, 1000);`;
    const running = startChild(['--require', REGISTER, '-e', script], exportTo(receiver));
    await running.firstLine;
    running.child.kill('SIGTERM');
    const result = await running.done;
    expect(result.code, result.stderr).to.equal(7);
    expect(result.stdout).to.include('app handler');
  });
});
