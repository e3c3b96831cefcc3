// `npm run bench:fleet` (scripts/bench-fleet.sh runs this once per Node): what fleet mode
// costs, against a redis-server on loopback.
// - Per call: local mode, fleet mode with Redis healthy, and fleet mode with Redis
//   unreachable, each in a fresh process, taking turns round after round (the order
//   rotates, so none always runs first). A process of its own per variant, unlike
//   `npm run bench`'s cases in one process: fleet mode's background work (leases, and
//   the breaker's and budget's syncs) would otherwise run during the other variants'
//   batches and be billed to them, and each process has one mode, as an application does.
// - Redis operations per instance per second: one fleet-mode process at a fixed call
//   rate, counted by the server (INFO commandstats); a local-mode one beside it, whose
//   CPU time is what the same calls cost without fleet mode's background work.
// Markdown goes to stdout, progress to stderr.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, redis, stopAllServers } from '../../test/integration/servers.js';
import { countFromEnv, elapsedLine, loadAverage } from '../run-info.js';
import { VARIANTS } from './cases.js';
import type { Measurement, RateMeasurement, Variant } from './cases.js';
import { overheadTable, rateTable } from './report.js';

const WARMUP = countFromEnv('BENCH_WARMUP', 5_000);
const CALLS = countFromEnv('BENCH_CALLS', 200_000);
const ROUNDS = countFromEnv('BENCH_ROUNDS', 5);
const SECONDS = countFromEnv('BENCH_SECONDS', 10);
const RATES = [1_000, 10_000];
const RATE_VARIANTS = ['local', 'fleet'] as const;
const VARIANT_SCRIPT = fileURLToPath(new URL('./variant.js', import.meta.url));

const execFileAsync = promisify(execFile);

async function child<T>(args: readonly string[]): Promise<T> {
  const { stdout } = await execFileAsync(process.execPath, [VARIANT_SCRIPT, ...args], { encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const server = await redis();
  // A loopback port nothing listens on: the "Redis unreachable" variant dials it and is refused.
  const down = `redis://127.0.0.1:${await freePort()}/0`;
  const urlOf: Record<Variant, string> = { local: server.url, fleet: server.url, 'fleet-down': down };
  const passedThrough = Object.keys(process.env).filter((name) => name.startsWith('BREAKWATER_'));
  console.log(`#### Node ${process.version}\n`);
  console.log(
    `\`runtime.execute(() => Promise.resolve(1), { target, idempotent: true })\`, the default policy with a rate limit that never limits ` +
      `(100,000,000/s, burst 1,000,000). 2 × ${WARMUP} warm-up calls (the first paced, 1,000 per 10 ms, the second at full speed) then ${CALLS} measured, sequential, a turn of the event loop every 1,000, ` +
      `per process; ${ROUNDS} rounds of ${VARIANTS.length} processes in turn. Load average at start: ${loadAverage()}.` +
      (passedThrough.length > 0 ? ` Set for breakwater: ${passedThrough.map((name) => `${name}=${process.env[name]}`).join(' ')}.` : ''),
  );
  console.log('');
  try {
    const samples = new Map<Variant, Measurement[]>(VARIANTS.map((v) => [v, []]));
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`${process.version} overhead: round ${round + 1}/${ROUNDS}\n`);
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
      for (const variant of order) {
        samples.get(variant)!.push(await child<Measurement>(['overhead', variant, urlOf[variant], String(WARMUP), String(CALLS)]));
      }
    }
    console.log(overheadTable(samples));
    console.log('');
    console.log(`Load average after the per-call runs: ${loadAverage()}.`);
    console.log('');
    const runs: RateMeasurement[] = [];
    for (const rate of RATES) {
      for (const variant of RATE_VARIANTS) {
        process.stderr.write(`${process.version} ${variant} at ${rate} calls/s for ${SECONDS} s\n`);
        runs.push(await child<RateMeasurement>(['rate', variant, server.url, String(rate), String(SECONDS)]));
      }
    }
    console.log(
      `Redis operations of one instance calling one target at a constant rate (open loop, a batch of calls every 10 ms) for ${SECONDS} s, after 1 s at that rate, ` +
        `in fleet mode and, for its CPU, in local mode; counted by the server (\`INFO commandstats\`, the reading connection's own \`INFO\` left out; it counts the commands a script runs too, shown apart):`,
    );
    console.log('');
    console.log(rateTable(runs));
  } finally {
    await stopAllServers();
  }
  console.log('');
  console.log(elapsedLine(started));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
