// `npm run demo`: runs app.mjs, an ordinary service, under
// `node --import breakwater/register`, against a flaky local HTTP server and (when
// installed) private PostgreSQL and Redis servers behind a fault-injecting proxy. Faults
// follow a schedule; breakwater's spans arrive here over OTLP/HTTP (as they would at a
// Collector) and are printed as they happen, beside the app's own output.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Long enough for the pattern detector (its minutes scaled to seconds) to see a breaker stay open.
const seconds = Number(process.env.DEMO_SECONDS ?? 30);
const t0 = Date.now();
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(2).padStart(6)}s`;
const log = (line) => console.log(`${stamp()} ${line}`);

// --- a flaky HTTP dependency --------------------------------------------------------
let httpMode = 'flaky';
// The first POST /orders is cut once the server has read it, so the demo always shows a
// write that is not retried (the rest of the flaky phase is left to chance).
let orderCut = false;
const api = http.createServer((req, res) => {
  req.resume();
  if (httpMode === 'flaky' && req.method === 'POST' && req.url === '/orders' && !orderCut) {
    orderCut = true;
    return req.on('end', () => req.socket.destroy());
  }
  const roll = Math.random();
  if (httpMode === 'down') return req.socket.destroy();
  if (httpMode === 'flaky' && roll < 0.25) return res.writeHead(503, { 'retry-after': '0' }).end('busy');
  if (httpMode === 'flaky' && roll < 0.4) return req.socket.destroy();
  res.end(req.url === '/price' ? '"42.00"' : '{"ok":true}');
});
await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
const apiUrl = `http://127.0.0.1:${api.address().port}`;

// --- PostgreSQL and Redis, only when installed, behind the fault proxy ----------------
const hasPostgres = existsSync('/usr/lib/postgresql');
const hasRedis = (() => {
  try {
    execFileSync('which', ['redis-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const servers = await import(new URL('build/test/integration/servers.js', `file://${root}`).href);
const { startFaultProxy } = await import(new URL('build/test/helpers/fault-proxy.js', `file://${root}`).href);
const proxies = {};
const env = {};
if (hasPostgres) {
  const pg = await servers.postgres();
  proxies.pg = await startFaultProxy({ host: '127.0.0.1', port: pg.port });
  env.DEMO_PG_URL = pg.url.replace(`:${pg.port}/`, `:${proxies.pg.port}/`);
} else log('PostgreSQL is not installed: the demo runs without it (apt-get install postgresql to see pg calls)');
if (hasRedis) {
  const redis = await servers.redis();
  proxies.redis = await startFaultProxy({ host: '127.0.0.1', port: redis.port });
  env.DEMO_REDIS_URL = redis.url.replace(`:${redis.port}`, `:${proxies.redis.port}`);
} else log('Redis is not installed: the demo runs without it (apt-get install redis-server to see Redis calls)');

// --- where breakwater's telemetry arrives ---------------------------------------------
const attr = (list) => Object.fromEntries((list ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    if (req.url !== '/v1/traces') return;
    const spans = JSON.parse(Buffer.concat(chunks).toString()).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    spans.sort((a, b) => Number(BigInt(a.endTimeUnixNano) - BigInt(b.endTimeUnixNano)));
    for (const span of spans) printSpan(span.name, attr(span.attributes));
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));

function printSpan(name, a) {
  const target = a['resilience.target'];
  if (name === 'resilience.circuit.transition') {
    return log(`    BREAKER ${target}: ${a['resilience.circuit.from']} -> ${a['resilience.circuit.to']}`);
  }
  if (a['resilience.attempt'] === undefined) return;
  if (name === 'resilience.rejected') {
    // a call turned away without dialling (open breaker, full bulkhead)
    return log(`    call to ${target} rejected: ${a['error.type']}`);
  }
  if (a['resilience.outcome'] === 'success' && a['resilience.attempt'] === 1) return; // quiet on the happy path
  const what = a['resilience.outcome'] === 'success' ? 'ok' : `${a['resilience.error.category']} (${a['error.type']})`;
  const wait = a['resilience.retry.delay_ms'] ? ` after waiting ${a['resilience.retry.delay_ms']} ms` : '';
  // The last attempt of a call says why no retry followed it.
  const why = a['resilience.retry.suppressed'] ? `, no retry: ${a['resilience.retry.suppressed']}` : '';
  log(`    attempt ${a['resilience.attempt']} ${name} ${target}${wait}: ${what}${why}`);
}

// --- the app, under breakwater/register ------------------------------------------------
const app = spawn(process.execPath, ['--import', 'breakwater/register', 'examples/register-demo/app.mjs'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: {
    ...process.env,
    ...env,
    DEMO_API: apiUrl,
    DEMO_SECONDS: String(seconds),
    OTEL_SERVICE_NAME: 'breakwater-demo',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.address().port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    BREAKWATER_RETRY_BASE_DELAY_MS: '20',
    BREAKWATER_RETRY_MAX_DELAY_MS: '200',
    BREAKWATER_TIMEOUT_MS: '500',
    BREAKWATER_BREAKER: 'consecutive',
    BREAKWATER_BREAKER_THRESHOLD: '4',
    BREAKWATER_BREAKER_OPEN_MS: '1000',
    // The open period doubles on each failed probe; capped so the breakers close within
    // seconds of the recovery, whatever the timing of the outage's probes.
    BREAKWATER_BREAKER_MAX_OPEN_MS: '2000',
    // The in-process pattern detector (docs/patterns.md): off by default, on here, its
    // minutes lasting a second (the rules' windows would outlast the demo otherwise).
    BREAKWATER_PATTERNS: 'true',
    BREAKWATER_PATTERNS_TIME_SCALE: '60',
  },
});
// The app's output and breakwater's own lines (detected patterns go to stderr), stamped.
for (const stream of [app.stdout, app.stderr]) {
  stream.on('data', (d) => {
    for (const line of d.toString().split('\n')) if (line) log(line.startsWith('breakwater: pattern') ? `PATTERN ${line.slice('breakwater: pattern '.length)}` : line);
  });
}

const schedule = [
  [0, 'the HTTP API fails ~40% of requests (503 or reset): GETs are retried; a POST without Idempotency-Key is not', () => (httpMode = 'flaky')],
  [0.25, 'the HTTP API resets every connection and Redis stops answering: attempts fail or time out, the breakers open and calls are rejected without dialling', async () => {
    httpMode = 'down';
    await proxies.redis?.setFault({ kind: 'blackhole' });
    proxies.redis?.resetAll(); // faults apply to new connections: make the client reconnect
  }],
  // Down long enough (10 s) for the detector's 5 scaled minutes of an open breaker.
  [0.6, 'the HTTP API and Redis recover: half-open probes close the breakers; new PostgreSQL connections are reset, and the failed connects are retried (nothing was sent)', async () => {
    httpMode = 'healthy';
    await proxies.redis?.setFault({ kind: 'none' });
    proxies.redis?.resetAll();
    await proxies.pg?.setFault({ kind: 'reset_after_request' });
    proxies.pg?.resetAll();
  }],
  [0.8, 'everything is healthy', async () => {
    await proxies.pg?.setFault({ kind: 'none' });
  }],
];
for (const [at, text, action] of schedule) {
  setTimeout(async () => {
    log(`=== ${text}`);
    await action();
  }, at * seconds * 1000);
}

const code = await new Promise((resolve) => app.on('exit', resolve));
await new Promise((r) => setTimeout(r, 300)); // the last batch of spans
log(`app exited with ${code}`);
api.close();
receiver.close();
for (const proxy of Object.values(proxies)) await proxy.close();
await servers.stopAllServers();
process.exit(code ?? 1);
