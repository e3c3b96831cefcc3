// The breakwater demo: a policy around a flaky local HTTP server. Every attempt, retry
// wait, suppressed retry and breaker transition is printed as it happens, read straight
// from the OpenTelemetry spans breakwater records (an in-process span processor stands
// in for Jaeger here).
import http from 'node:http';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createPolicy, getClassification } from 'breakwater';

const seconds = Number(process.env.DEMO_SECONDS ?? 12);

// --- a dependency that misbehaves on a schedule --------------------------------------
let phase = 'flaky';
const server = http.createServer((req, res) => {
  const roll = Math.random();
  if (phase === 'down') return req.socket.destroy(); // connection reset
  if (phase === 'flaky' && roll < 0.25) {
    res.writeHead(503, { 'retry-after': '0' });
    return res.end('busy');
  }
  if (phase === 'flaky' && roll < 0.4) return req.socket.destroy();
  setTimeout(() => res.end('ok'), phase === 'slow' ? 400 : 5);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const target = `http://127.0.0.1:${port}`;

// --- print breakwater's telemetry as it happens --------------------------------------
const t0 = Date.now();
const stamp = () => `${String(Date.now() - t0).padStart(6)} ms`;
const printer = {
  onStart() {},
  onEnd(span) {
    const a = span.attributes;
    if (span.name === 'resilience.circuit.transition') {
      console.log(`${stamp()}  BREAKER   ${a['resilience.circuit.from']} -> ${a['resilience.circuit.to']}`);
    } else if (span.name.endsWith(' attempt')) {
      const what = a['resilience.outcome'] === 'success' ? 'ok' : `${a['resilience.error.category']} (${a['error.type']})`;
      const delay = a['resilience.retry.delay_ms'] ? ` after ${a['resilience.retry.delay_ms']} ms wait` : '';
      console.log(`${stamp()}    attempt ${a['resilience.attempt']}${delay}: ${what}`);
    } else if (a['resilience.outcome'] !== undefined) {
      const why = a['resilience.retry.suppressed'] ? `, retry suppressed: ${a['resilience.retry.suppressed']}` : '';
      console.log(`${stamp()}  call ${span.attributes['resilience.outcome']} after ${a['resilience.attempt']} attempt(s)${why}`);
    }
  },
  forceFlush: async () => {},
  shutdown: async () => {},
};
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [printer] }));

// --- the policy ----------------------------------------------------------------------
const policy = createPolicy({
  name: 'demo',
  retry: { maxAttempts: 4, baseDelayMs: 50, maxDelayMs: 400, jitter: 'decorrelated', budgetRatio: 0.5 },
  timeoutMs: 250,
  deadlineMs: 2000,
  breaker: { mode: 'consecutive', threshold: 8, openMs: 1000, maxOpenMs: 4000, halfOpenProbes: 1 },
});

async function get(method = 'GET') {
  return policy.execute(
    async ({ signal }) => {
      const res = await fetch(target, { method, signal });
      await res.text();
      return res;
    },
    { target, client: 'fetch', idempotent: method === 'GET', method, failureOf: (res) => (res.status >= 500 ? res : undefined) },
  );
}

const schedule = [
  [0, 'flaky', 'the server fails ~40% of requests: retries absorb it'],
  [0.35, 'down', 'the server resets every connection: the breaker opens'],
  [0.6, 'slow', 'the server answers in 400 ms, past the 250 ms timeout'],
  [0.75, 'healthy', 'the server recovers: a half-open probe closes the breaker'],
];
const end = t0 + seconds * 1000;
let n = 0;
while (Date.now() < end) {
  const elapsed = (Date.now() - t0) / (seconds * 1000);
  const current = schedule.filter(([at]) => elapsed >= at).at(-1);
  if (current[1] !== phase || n === 0) {
    phase = current[1];
    console.log(`\n${stamp()}  === phase: ${phase}: ${current[2]}`);
  }
  n++;
  const method = n % 5 === 0 ? 'POST' : 'GET';
  console.log(`${stamp()}  ${method} #${n}`);
  try {
    const res = await get(method);
    if (res.status >= 500) console.log(`${stamp()}  -> gave up with the server's own ${res.status} response`);
  } catch (err) {
    // The caller gets its own error back (fetch's TypeError here), with breakwater's verdict attached.
    const c = getClassification(err);
    console.log(`${stamp()}  -> failed: ${err.name}${c ? ` classified ${c.category}/${c.code}, ${c.transient ? 'transient' : 'permanent'}: "${c.userMessage}"` : ''}`);
  }
  await new Promise((r) => setTimeout(r, 150));
}
console.log('\nbreaker stats:', JSON.stringify(policy.circuit(target).stats));
server.close();
