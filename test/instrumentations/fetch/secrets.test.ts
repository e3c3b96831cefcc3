import { expect } from 'chai';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { recordingServer, setUp, statuses, tearDown, undici, type RecordingServer, type Setup } from './support.js';

const SECRETS = ['hunter2-password', 'Bearer-s3cr3t-token', 'session=c00kie-value', 'qs-t0ken-123', 'alice-user'];

/** Everything telemetry could carry, as text. */
async function exported(s: Setup): Promise<string> {
  const spans = s.otel.spans().map((sp) => ({
    name: sp.name,
    attributes: sp.attributes,
    status: sp.status,
    events: sp.events.map((e) => ({ name: e.name, attributes: e.attributes })),
  }));
  const metrics = [...(await s.otel.collect()).values()].map((m) => ({
    name: m.descriptor.name,
    points: m.dataPoints.map((p) => p.attributes),
  }));
  return JSON.stringify({ spans, metrics });
}

describe('fetch adapter: no secret leaks', function () {
  this.timeout(20_000);
  let server: RecordingServer;
  let proxy: FaultProxy;
  let s: Setup | undefined;
  const written: string[] = [];
  const realOut = process.stdout.write.bind(process.stdout);
  const realErr = process.stderr.write.bind(process.stderr);

  beforeEach(async () => {
    server = await recordingServer();
    proxy = await startFaultProxy({ host: '127.0.0.1', port: server.port });
  });
  afterEach(async () => {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    await tearDown(s);
    s = undefined;
    await proxy.close();
    await server.close();
  });

  it('userinfo, Authorization, Cookie and a query token never reach spans, metrics, output or breakwater\'s errors', async () => {
    s = setUp({ BREAKWATER_TIMEOUT_MS: '150', BREAKWATER_BREAKER: 'consecutive', BREAKWATER_BREAKER_THRESHOLD: '3' });
    const capture = (chunk: unknown): boolean => {
      written.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;

    const direct = `http://127.0.0.1:${server.port}`;
    const viaProxy = `http://127.0.0.1:${proxy.port}`;
    const headers = { Authorization: 'Bearer-s3cr3t-token', Cookie: 'session=c00kie-value' };
    const errors: unknown[] = [];
    const settle = async (p: Promise<unknown>): Promise<void> => {
      try {
        const r = await p;
        if (r instanceof Response) await r.arrayBuffer();
        else await (r as { body: { dump(): Promise<void> } }).body.dump();
      } catch (e) {
        errors.push(e);
      }
    };

    // success, retried 503s, a failure given up on, userinfo in the URL
    server.respond = statuses(503);
    await settle(fetch(`${direct}/a?token=qs-t0ken-123`, { headers }));
    await settle(undici().request(`${direct}/b?token=qs-t0ken-123`, { headers }));
    server.respond = statuses(503, 503, 503);
    await settle(fetch(`${direct}/c?token=qs-t0ken-123`, { headers }));
    await settle(fetch(`http://alice-user:hunter2-password@127.0.0.1:${server.port}/d?token=qs-t0ken-123`, { headers }));
    await settle(undici().request(`http://alice-user:hunter2-password@127.0.0.1:${server.port}/e?token=qs-t0ken-123`, { headers }));
    // timeouts, a refusal and an open breaker
    await proxy.setFault({ kind: 'blackhole' });
    await settle(fetch(`${viaProxy}/f?token=qs-t0ken-123`, { headers }));
    await proxy.setFault({ kind: 'refuse' });
    await settle(fetch(`${viaProxy}/g?token=qs-t0ken-123`, { method: 'POST', body: 'x', headers }));
    await settle(fetch(`${viaProxy}/h?token=qs-t0ken-123`, { headers }));

    process.stdout.write = realOut;
    process.stderr.write = realErr;
    const codes = errors.map((e) => (e as { code?: string }).code);
    expect(codes).to.include('BREAKWATER_TIMEOUT');
    expect(codes).to.include('BREAKWATER_CIRCUIT_OPEN');
    expect(server.received.some((r) => r.headers.authorization === 'Bearer-s3cr3t-token')).to.equal(true); // the calls were made with them

    const telemetry = await exported(s);
    expect(telemetry).to.include('resilience.attempt'); // something was exported
    const breakwaterErrors = errors
      .filter((e) => String((e as { code?: string }).code).startsWith('BREAKWATER_'))
      .map((e) => `${(e as Error).message} ${(e as Error).stack ?? ''}`)
      .join('\n');
    for (const secret of SECRETS) {
      expect(telemetry, `telemetry holds ${secret}`).to.not.include(secret);
      expect(written.join(''), `output holds ${secret}`).to.not.include(secret);
      expect(breakwaterErrors, `breakwater error holds ${secret}`).to.not.include(secret);
    }
    // The URL is recorded as the official instrumentation records it, every query value
    // redacted (d and e find the breaker open after c's three 503s; g and h after f's timeouts).
    const urls = new Set(s.otel.spans().map((sp) => sp.attributes['url.full']).filter((u) => u !== undefined));
    expect([...urls].sort()).to.deep.equal([...['a', 'b', 'c'].map((p) => `${direct}/${p}?token=REDACTED`), `${viaProxy}/f?token=REDACTED`].sort());
    expect(new Set(s.otel.spans().map((sp) => sp.attributes['url.query']).filter((q) => q !== undefined))).to.deep.equal(new Set(['?token=REDACTED']));
    expect(telemetry).to.not.include('http.request.header');
  });

  it('a URL with user:password and ?token=s3cr3t&x=1, Authorization and Cookie headers (undici.request; fetch refuses credentials): no secret value in any span attribute, event or metric point', async () => {
    s = setUp();
    server.respond = statuses(503);
    const r = await undici().request(`http://alice:Passw0rdInUrl@127.0.0.1:${server.port}/items?token=s3cr3t&x=1`, {
      headers: { authorization: 'Bearer AuthHeaderT0ken', cookie: 'sid=CookieS3ssion', 'user-agent': 'secrets-test' },
    });
    await r.body.dump();
    expect(r.statusCode).to.equal(200);
    expect(server.received.map((q) => [q.url, q.headers.authorization, q.headers.cookie])).to.deep.equal(
      Array(2).fill(['/items?token=s3cr3t&x=1', 'Bearer AuthHeaderT0ken', 'sid=CookieS3ssion']),
    );
    const attempts = s.otel.spans().filter((sp) => sp.kind === 2);
    expect(attempts).to.have.length(2);
    for (const span of attempts) {
      expect(span.attributes).to.include({
        'url.full': `http://127.0.0.1:${server.port}/items?token=REDACTED&x=REDACTED`,
        'url.query': '?token=REDACTED&x=REDACTED',
        'user_agent.original': 'secrets-test',
      });
    }
    const metrics = await s.otel.collect();
    expect(metrics.get('http.client.request.duration')?.dataPoints.map((p) => p.attributes['http.response.status_code'])).to.have.members([503, 200]);
    const recorded = await exported(s);
    for (const secret of ['alice', 'Passw0rdInUrl', 's3cr3t', 'x=1', 'AuthHeaderT0ken', 'CookieS3ssion']) expect(recorded, secret).to.not.include(secret);
  });
});
