import { expect } from 'chai';
import { OtlpReceiver } from '../helpers/otlp-receiver.js';
import { runChild } from '../helpers/child.js';
import { httpServer, type HttpTestServer } from '../integration/http-server.js';
import { postgres, redis } from '../integration/servers.js';

const SECRET = 'Zq7sEcReT';

type PointAttributes = Record<string, unknown>;

/** Every exported metric point's attributes, by metric name, read from the raw OTLP/JSON bodies. */
function metricPoints(bodies: readonly string[]): Map<string, PointAttributes[]> {
  const byName = new Map<string, PointAttributes[]>();
  for (const body of bodies) {
    const json = JSON.parse(body) as { resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: Array<Record<string, any>> }> }> };
    for (const rm of json.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const metric of sm.metrics ?? []) {
          const data = metric.sum ?? metric.histogram ?? metric.gauge ?? metric.exponentialHistogram ?? {};
          for (const point of (data.dataPoints ?? []) as Array<{ attributes?: Array<{ key: string; value: Record<string, unknown> }> }>) {
            const attributes: PointAttributes = {};
            for (const a of point.attributes ?? []) attributes[a.key] = Object.values(a.value)[0];
            const list = byName.get(metric.name as string) ?? [];
            list.push(attributes);
            byName.set(metric.name as string, list);
          }
        }
      }
    }
  }
  return byName;
}

describe('no secret leaks under register, across every client', function () {
  this.timeout(120_000);
  let receiver: OtlpReceiver;
  let ok: HttpTestServer;
  let flaky: HttpTestServer;
  let refusedPort: number;
  before(async () => {
    receiver = await OtlpReceiver.start();
    ok = await httpServer((req, res) => (req.resume(), res.end('fine')));
    let n = 0;
    flaky = await httpServer((req, res) => {
      req.resume();
      if (n++ % 2 === 0) res.writeHead(503, { 'retry-after': '0' }).end('busy');
      else req.socket.destroy();
    });
    const gone = await httpServer(() => {});
    refusedPort = gone.port;
    await gone.close();
  });
  after(async () => {
    await Promise.all([receiver.close(), ok.close(), flaky.close()]);
  });

  it('planted passwords, tokens, headers, query strings, SQL literals and values appear in no span, metric, log or breakwater message', async () => {
    const pgServer = await postgres();
    const redisServer = await redis();
    const pgPassword = new URL(pgServer.url).password;
    const redisPassword = decodeURIComponent(new URL(redisServer.url).password);
    const result = await runChild(['--import', 'breakwater/register', 'test/fixtures/secrets/app.mjs'], {
      SECRET,
      HTTP_OK: ok.url,
      HTTP_FLAKY: flaky.url,
      HTTP_REFUSED: `http://127.0.0.1:${refusedPort}`,
      PG_URL: pgServer.url,
      PG_BAD_URL: pgServer.url.replace(`:${pgPassword}@`, `:${SECRET}-wrong-pg-password@`),
      REDIS_URL: redisServer.url,
      REDIS_BAD_URL: redisServer.url.replace(`:${encodeURIComponent(redisPassword)}@`, `:${SECRET}-wrong-redis-password@`),
      BREAKWATER_RETRY_BASE_DELAY_MS: '1',
      BREAKWATER_RETRY_MAX_DELAY_MS: '2',
      BREAKWATER_TIMEOUT_MS: '3000',
      // Off by default: on here so the Redis commands' duration points are searched for secrets too.
      BREAKWATER_REDIS_DURATION_METRIC: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'secrets',
    });
    expect(result.code, result.stderr).to.equal(0);
    const seen = JSON.parse(result.stdout.trim().split('\n').pop()!) as string[];
    // The calls really happened, and some failed and were retried.
    expect(seen.filter((s) => s.startsWith('fetch'))).to.have.length(3);
    expect(seen.some((s) => s.startsWith('pg:'))).to.equal(true);
    expect(seen.some((s) => s.startsWith('pg error'))).to.equal(true);
    expect(receiver.spans.some((s) => Number(s.attributes['resilience.attempt']) >= 2), 'some calls were retried').to.equal(true);
    for (const client of ['http', 'fetch', 'pg', 'ioredis', 'redis']) {
      expect(receiver.spans.some((s) => s.attributes['resilience.client'] === client), `spans of ${client}`).to.equal(true);
    }

    // The metrics arrived, with points for every client: a check for secrets in them means something.
    const points = metricPoints(receiver.rawBodies);
    for (const name of ['resilience.attempts', 'http.client.request.duration', 'db.client.operation.duration']) {
      expect(receiver.metricNames.has(name), `metric ${name} exported`).to.equal(true);
      expect(points.get(name) ?? [], `points of ${name}`).to.not.be.empty;
    }
    const attemptClients = new Set((points.get('resilience.attempts') ?? []).map((p) => p['resilience.client']));
    expect([...attemptClients].sort(), 'resilience.attempts points per client').to.deep.equal(['fetch', 'http', 'ioredis', 'pg', 'redis']);
    const dbSystems = new Set((points.get('db.client.operation.duration') ?? []).map((p) => p['db.system.name']));
    expect([...dbSystems].sort(), 'db.client.operation.duration points per database').to.deep.equal(['postgresql', 'redis']);

    const exported = receiver.rawBodies.join('\n');
    const breakwaterMessages = seen.filter((s) => s.includes('BREAKWATER_')).join('\n');
    for (const [where, text] of [['exported telemetry', exported], ['stderr', result.stderr], ['breakwater errors', breakwaterMessages]] as const) {
      for (const secret of [SECRET, pgPassword, redisPassword]) {
        expect(text.includes(secret), `${where} holds a secret (${secret.slice(0, 3)}...)`).to.equal(false);
      }
      // url.full keeps a query's keys, as the official instrumentations do, but never a value.
      expect(text.toLowerCase()).not.to.match(/authorization|cookie|token=(?!redacted)|[?&]key=(?!redacted)/);
    }
  });
});
