// The flaky dependency of examples/stack: an HTTP server that cycles through healthy,
// flaky, down and slow phases, so the dashboard and the alerts have something to show.
// PORT (default 8080); PHASE_SECONDS (default 120) is the length of each phase.
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const phaseSeconds = Number(process.env.PHASE_SECONDS ?? 120);
// Healthy first, and twice, so the error-spike alert has a calm baseline to compare with.
const PHASES = ['healthy', 'healthy', 'flaky', 'down', 'healthy', 'slow'];
const t0 = Date.now();
const phase = () => PHASES[Math.floor((Date.now() - t0) / 1000 / phaseSeconds) % PHASES.length];

const server = http.createServer((req, res) => {
  req.resume();
  const now = phase();
  const roll = Math.random();
  if (now === 'down') return req.socket.destroy(); // connection reset
  if (now === 'flaky' && roll < 0.3) return res.writeHead(503, { 'retry-after': '0' }).end('busy');
  if (now === 'flaky' && roll < 0.45) return req.socket.destroy();
  const body = req.url === '/price' ? '"42.00"' : '{"ok":true}';
  // Past the demo app's 1 s attempt timeout half of the time.
  setTimeout(() => res.end(body), now === 'slow' && roll < 0.5 ? 1500 : 5);
});
server.listen(port, () => console.log(`flaky-api listening on ${server.address().port}, ${phaseSeconds} s per phase: ${PHASES.join(', ')}`));
// Compose stops containers with SIGTERM; a bare node process would ignore it as PID 1.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
