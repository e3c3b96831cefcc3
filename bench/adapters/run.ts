// `npm run bench:adapters` (scripts/bench-adapters.sh runs this once per Node): for each
// client, the success path of one call against a local server in six variants: bare,
// the official OpenTelemetry instrumentation alone, the same plus the call-duration
// record (a floor: cases.ts), breakwater alone, both, and breakwater with no SDK
// registered. Each variant runs in a fresh process; the variants take turns
// (A B C D E F, A B C D E F, ...) so a drifting machine affects them alike.
// Markdown goes to stdout, progress to stderr.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { httpServer } from '../../test/integration/http-server.js';
import { postgres, redis, stopAllServers } from '../../test/integration/servers.js';
import { CLIENTS, VARIANTS } from './cases.js';
import type { Client, Measurement, Variant } from './cases.js';
import { tableHeader, tableRows } from './report.js';
import { chosenFromArgs, countFromEnv, elapsedLine, loadAverage } from '../run-info.js';

// Long enough that the JIT's compile threads, which count in the process's CPU time,
// are done before the measured part: at 5,000 measured calls they made the variant
// with the most code look up to twice as slow as at 60,000.
const WARMUP = countFromEnv('BENCH_WARMUP', 5_000);
const CALLS = countFromEnv('BENCH_CALLS', 20_000);
const ROUNDS = countFromEnv('BENCH_ROUNDS', 5);
const VARIANT_SCRIPT = fileURLToPath(new URL('./variant.js', import.meta.url));

const execFileAsync = promisify(execFile);

// Asynchronous: the HTTP server the child calls lives in this process's event loop.
async function runVariant(client: Client, variant: Variant, target: string): Promise<Measurement> {
  const args = [VARIANT_SCRIPT, client, variant, target, String(WARMUP), String(CALLS)];
  const { stdout } = await execFileAsync(process.execPath, args, { encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Measurement;
}

async function main(): Promise<void> {
  const clients = chosenFromArgs(CLIENTS, 'client');
  const started = process.hrtime.bigint();
  const http = await httpServer((_req, res) => res.end('ok'));
  const targetOf: Record<Client, () => Promise<string>> = {
    http: async () => http.url + '/',
    fetch: async () => http.url + '/',
    pg: async () => (await postgres()).url,
    ioredis: async () => (await redis()).url,
    redis: async () => (await redis()).url,
  };
  const passedThrough = Object.keys(process.env).filter((name) => name.startsWith('BREAKWATER_'));
  console.log(`#### Node ${process.version}\n`);
  console.log(
    `${WARMUP} warm-up calls then ${CALLS} measured, sequential, per process; ${ROUNDS} rounds of ${VARIANTS.length} variants in turn. ` +
      `Load average at start: ${loadAverage()}.` +
      (passedThrough.length > 0 ? ` Set for breakwater: ${passedThrough.map((name) => `${name}=${process.env[name]}`).join(' ')}.` : ''),
  );
  console.log('');
  console.log(tableHeader());
  try {
    for (const client of clients) {
      const target = await targetOf[client]();
      const samples = new Map<Variant, Measurement[]>(VARIANTS.map((v) => [v, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        process.stderr.write(`${process.version} ${client}: round ${round}/${ROUNDS}\n`);
        for (const variant of VARIANTS) samples.get(variant)!.push(await runVariant(client, variant, target));
      }
      console.log(tableRows(client, samples));
    }
  } finally {
    await http.close();
    await stopAllServers();
  }
  console.log('');
  console.log(elapsedLine(started));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
