// `npm run bench:tail` (scripts/bench-tail.sh runs this): tail latency with hedging. For
// each client, a local dependency whose requests are 2% slower by two orders of
// magnitude is called at a constant rate, in three variants: breakwater without
// hedging, breakwater with adaptive hedging, and a Polly-style fixed-delay hedger. Each
// variant runs in a fresh process; the variants take turns (A B C, A B C, ...) so a
// drifting machine affects them alike. Markdown goes to stdout, progress to stderr, the
// CDF charts to bench/results/ (or BENCH_TAIL_CHARTS).
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stopAllServers } from '../../test/integration/servers.js';
import { chosenFromArgs, countFromEnv, elapsedLine, loadAverage } from '../run-info.js';
import { CLIENTS, FAST_MS, POLLY_DELAY_MS, SLOW_MS, SLOW_SHARE, VARIANTS } from './cases.js';
import type { Client, RoundResult, Variant, VariantResult } from './cases.js';
import { writeCdfChart } from './chart.js';
import { errorNotes, tableHeader, tableRows } from './report.js';
import { tailHttpServer, tailPgServer, type TailServer } from './servers.js';

const WARMUP = countFromEnv('BENCH_WARMUP', 1_000);
// p99.9 of 10,000 calls is decided by its 10 slowest: fewer would make it one call's latency.
const CALLS = countFromEnv('BENCH_CALLS', 10_000);
const ROUNDS = countFromEnv('BENCH_ROUNDS', 3);
const RATE = countFromEnv('BENCH_RATE', 200);
const VARIANT_SCRIPT = fileURLToPath(new URL('./variant.js', import.meta.url));
// build/bench/tail/ -> the repository's bench/results/, beside BENCHMARKS.md's links.
const CHART_DIR = process.env['BENCH_TAIL_CHARTS'] || fileURLToPath(new URL('../../../bench/results/', import.meta.url));

const execFileAsync = promisify(execFile);

// Asynchronous: the HTTP server the child calls lives in this process's event loop.
async function runRound(client: Client, variant: Variant, server: TailServer): Promise<RoundResult> {
  const before = await server.measuredRequests();
  const args = [VARIANT_SCRIPT, client, variant, server.url, String(WARMUP), String(CALLS), String(RATE)];
  const { stdout } = await execFileAsync(process.execPath, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as VariantResult;
  return { ...result, serverRequests: (await server.measuredRequests()) - before };
}

async function main(): Promise<void> {
  const clients = chosenFromArgs(CLIENTS, 'client');
  const started = process.hrtime.bigint();
  const serverOf: Record<Client, () => Promise<TailServer>> = { http: tailHttpServer, 'node-http': tailHttpServer, pg: tailPgServer };
  const passedThrough = Object.keys(process.env).filter((name) => name.startsWith('BREAKWATER_'));
  mkdirSync(CHART_DIR, { recursive: true });
  console.log(`#### Node ${process.version}\n`);
  console.log(
    `Each request: ${SLOW_MS} ms with probability ${SLOW_SHARE}, else ${FAST_MS} ms, drawn by the server. ` +
      `${RATE} calls/s open-loop; ${WARMUP} warm-up calls then ${CALLS} measured per process; ${ROUNDS} rounds of ${VARIANTS.length} variants in turn. ` +
      `Polly-style delay ${POLLY_DELAY_MS} ms. Load average at start: ${loadAverage()}.` +
      (passedThrough.length > 0 ? ` Set for breakwater: ${passedThrough.map((name) => `${name}=${process.env[name]}`).join(' ')}.` : ''),
  );
  console.log('');
  console.log(tableHeader());
  const notes: string[] = [];
  try {
    for (const client of clients) {
      const server = await serverOf[client]();
      try {
        const rounds = new Map<Variant, RoundResult[]>(VARIANTS.map((v) => [v, []]));
        for (let round = 1; round <= ROUNDS; round++) {
          for (const variant of VARIANTS) {
            process.stderr.write(`${process.version} ${client}: round ${round}/${ROUNDS}, ${variant}\n`);
            rounds.get(variant)!.push(await runRound(client, variant, server));
          }
        }
        console.log(tableRows(client, rounds));
        const chart = path.join(CHART_DIR, `tail-${client}.png`);
        writeCdfChart(chart, client, RATE, rounds);
        notes.push(...errorNotes(client, rounds));
        notes.push(`${client}: chart ${path.relative(process.cwd(), chart)}`);
      } finally {
        await server.close();
      }
    }
  } finally {
    await stopAllServers();
  }
  console.log('');
  for (const note of notes) console.log(`- ${note}`);
  console.log('');
  console.log(elapsedLine(started));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
