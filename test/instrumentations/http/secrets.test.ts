// No secret of an HTTP call may leave through breakwater: URL userinfo, the `auth`
// option, Authorization and Cookie headers and query values are planted in calls that
// succeed, fail, retry, time out and are rejected by an open breaker; none may appear
// in any exported span or metric, in stdout/stderr, or in an error breakwater made.
// The path is recorded in spans (`url.full`, as the official instrumentation records
// it: docs/adapters/http.md), never in metrics, output or errors.
import { expect } from 'chai';
import http from 'node:http';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { getClassification } from '../../../src/errors.js';
import type { Runtime } from '../../../src/runtime/runtime.js';
import { OtelHarness } from '../../helpers/otel.js';
import { enableAdapter, errorOf, hang, ok, outcomeOf, scriptedServer, status } from './support.js';
import type { ScriptedServer } from './support.js';

const SECRETS = ['UserInfoPassw0rd', 'AuthOptionPassw0rd', 'BearerT0kenValue', 'C00kieSessionValue', 'QueryT0kenValue'];
/** In a span's url.full only, where the official instrumentation records the path too. */
const PATH_SEGMENT = 'PathSecretSegment';

describe('http adapter: no secret leaks', () => {
  let otel: OtelHarness;
  let server: ScriptedServer;
  let runtime: Runtime;
  let adapter: Adapter;
  let written: string[];
  let restoreOutput: () => void;

  beforeEach(async () => {
    otel = new OtelHarness().install();
    server = await scriptedServer();
    ({ runtime, adapter } = enableAdapter({ BREAKWATER_TIMEOUT_MS: '100' }));
    written = [];
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    const capture = (write: typeof out) =>
      ((chunk: unknown, ...rest: unknown[]) => {
        written.push(String(chunk));
        return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof out;
    process.stdout.write = capture(out);
    process.stderr.write = capture(err);
    restoreOutput = () => {
      process.stdout.write = out;
      process.stderr.write = err;
    };
  });
  afterEach(async () => {
    restoreOutput();
    adapter.disable();
    await server.close();
    await otel.uninstall();
  });

  function secretUrl(port = server.port): string {
    return `http://alice:UserInfoPassw0rd@127.0.0.1:${port}/PathSecretSegment/items?token=QueryT0kenValue`;
  }
  const secretHeaders = { Authorization: 'Bearer BearerT0kenValue', Cookie: 'session=C00kieSessionValue' };

  it('nothing planted in successful, failed, retried, timed-out and rejected calls reaches spans, metrics, output or breakwater\'s errors', async () => {
    const errors: unknown[] = [];
    // Succeeds at once; then retried to success; then fails for good (503 three times).
    server.script(ok());
    await outcomeOf(http.get(secretUrl(), { headers: secretHeaders }));
    server.script(status(503), ok());
    const post = http.request(secretUrl(), { method: 'POST', auth: 'bob:AuthOptionPassw0rd', headers: { ...secretHeaders, 'Idempotency-Key': 'k' } });
    post.end('body');
    await outcomeOf(post);
    server.script(status(503));
    await outcomeOf(http.get(secretUrl(), { headers: secretHeaders }));
    // Times out on every attempt: breakwater's own timeout error.
    server.script(hang);
    errors.push(await errorOf(http.get(secretUrl(), { headers: secretHeaders })));
    // Refused: the client's error (its message names only the address).
    const closed = await scriptedServer();
    const closedPort = closed.port;
    await closed.close();
    errors.push(await errorOf(http.get(secretUrl(closedPort), { headers: secretHeaders })));
    // Rejected by an open breaker: breakwater's own error.
    runtime.circuit(`http://127.0.0.1:${server.port}`).isolate();
    errors.push(await errorOf(http.get(secretUrl(), { headers: secretHeaders })));

    expect(server.received.length).to.be.at.least(6); // the calls did carry the secrets to the server
    expect(server.received[0]!.headers.authorization).to.equal('Bearer BearerT0kenValue');
    const codes = errors.map((e) => (e as { code?: string }).code);
    expect(codes).to.deep.equal(['BREAKWATER_TIMEOUT', 'ECONNREFUSED', 'BREAKWATER_CIRCUIT_OPEN']);

    const spans = otel.spans().map((s) => ({
      name: s.name,
      attributes: s.attributes,
      events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
      status: s.status,
      links: s.links,
    }));
    expect(spans.length).to.be.greaterThan(6);
    const metrics = [...(await otel.collect()).values()].map((m) => ({ name: m.descriptor.name, points: m.dataPoints.map((p) => p.attributes) }));
    const madeByBreakwater = [errors[0], errors[2]].map((e) => ({ message: (e as Error).message, stack: (e as Error).stack }));
    const classifications = errors.map((e) => getClassification(e));
    const haystacks = {
      spans: JSON.stringify(spans),
      metrics: JSON.stringify(metrics),
      output: written.join(''),
      errors: JSON.stringify(madeByBreakwater),
      classifications: JSON.stringify(classifications),
    };
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of SECRETS) expect(text, `${secret} in ${where}`).to.not.include(secret);
      expect(text, `user name in ${where}`).to.not.match(/alice|bob:/);
      if (where !== 'spans') expect(text, `the path in ${where}`).to.not.include(PATH_SEGMENT);
    }
    // The path is in url.full alone, its query values and credentials redacted.
    const urls = new Set(otel.spans().map((s) => s.attributes['url.full']).filter((u) => u !== undefined));
    expect([...urls].sort()).to.deep.equal([
      `http://REDACTED:REDACTED@127.0.0.1:${closedPort}/PathSecretSegment/items?token=REDACTED`,
      `http://REDACTED:REDACTED@127.0.0.1:${server.port}/PathSecretSegment/items?token=REDACTED`,
    ].sort());
    const withoutUrls = otel.spans().map((s) => ({ ...s.attributes, 'url.full': undefined, events: s.events }));
    expect(JSON.stringify(withoutUrls)).to.not.include(PATH_SEGMENT);
  });

  it('a URL with user:password and ?token=s3cr3t&x=1, Authorization and Cookie headers: no secret value in any span attribute, event or metric point', async () => {
    server.script(status(503), ok());
    await outcomeOf(
      http.get(`http://alice:Passw0rdInUrl@127.0.0.1:${server.port}/items?token=s3cr3t&x=1`, {
        headers: { Authorization: 'Bearer AuthHeaderT0ken', Cookie: 'sid=CookieS3ssion', 'User-Agent': 'secrets-test' },
      }),
    );
    expect(server.received.map((r) => r.headers.authorization)).to.deep.equal(['Bearer AuthHeaderT0ken', 'Bearer AuthHeaderT0ken']);
    const attempts = otel.spans().filter((s) => s.kind === 2);
    expect(attempts).to.have.length(2);
    for (const span of attempts) {
      expect(span.attributes['url.full']).to.equal(`http://REDACTED:REDACTED@127.0.0.1:${server.port}/items?token=REDACTED&x=REDACTED`);
      expect(span.attributes['user_agent.original']).to.equal('secrets-test');
    }
    const metrics = await otel.collect();
    expect(metrics.get('http.client.request.duration')?.dataPoints.map((p) => p.attributes['http.response.status_code'])).to.have.members([503, 200]);
    const recorded = JSON.stringify({
      spans: otel.spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events.map((e) => [e.name, e.attributes]), status: s.status })),
      metrics: [...metrics.values()].map((m) => ({ name: m.descriptor.name, points: m.dataPoints.map((p) => p.attributes) })),
    });
    for (const secret of ['alice', 'Passw0rdInUrl', 's3cr3t', 'x=1', 'AuthHeaderT0ken', 'CookieS3ssion']) expect(recorded, secret).to.not.include(secret);
  });
});
