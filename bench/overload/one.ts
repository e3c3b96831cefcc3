// One variant at one offered load, several times over, against a fresh dependency: to
// see how much a cell of `npm run bench:overload` moves between runs, or to try a
// setting (BREAKWATER_* variables pass through to the variant) without the whole ramp.
//   node build/bench/overload/one.js <http|pg> <variant> <load, e.g. 3> [rounds]
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HTTP_WORK_MS, HTTP_WORKERS, PG_SLEEP_MS, PG_SLOTS, VARIANTS, type Dependency, type StepResult, type Variant } from './cases.js';
import { capacityHttpServer, limitedPgServer } from './servers.js';

const VARIANT_SCRIPT = fileURLToPath(new URL('./variant.js', import.meta.url));
const WARMUP_SECONDS = 4;
const SECONDS = 6;

/** The adaptive limit over the run, and the no-load latency (minRtt) it was judged against: the last trace sample's. */
function limitSummary(r: StepResult): string {
  const trace = r.limitTrace;
  if (trace.length === 0) return '';
  const limits = trace.map((sample) => sample[1]).sort((a, b) => a - b);
  const last = trace[trace.length - 1]!;
  return `, limit median ${limits[limits.length >> 1]}, minRtt ${last[4] ?? '-'} ms, window p90 ${last[5] ?? '-'} ms`;
}

async function main(): Promise<void> {
  const [dependency, variant, loadText, roundsText = '3'] = process.argv.slice(2) as [Dependency, Variant, string, string?];
  if ((dependency !== 'http' && dependency !== 'pg') || !VARIANTS.includes(variant) || !(Number(loadText) > 0)) {
    throw new Error(`usage: one.js <http|pg> <${VARIANTS.join('|')}> <load multiple> [rounds]`);
  }
  const capacity = dependency === 'http' ? (HTTP_WORKERS * 1000) / HTTP_WORK_MS : (PG_SLOTS * 1000) / PG_SLEEP_MS;
  const rate = Math.round(Number(loadText) * capacity);
  const server = dependency === 'http' ? await capacityHttpServer() : { ...(await limitedPgServer()), close: async () => {} };
  console.log(`${dependency}, ${variant}, ${loadText}x (${rate}/s): ${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured, per round`);
  for (let round = 0; round < Number(roundsText); round++) {
    await server.drained();
    const { stdout } = await promisify(execFile)(process.execPath, [VARIANT_SCRIPT, dependency, variant, server.url, String(rate), String(WARMUP_SECONDS), String(SECONDS)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as StepResult;
    const share = ((100 * r.goodputPerSecond) / capacity).toFixed(0);
    console.log(`  goodput ${r.goodputPerSecond.toFixed(0)}/s (${share}%), admitted p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, start lag p99 ${r.startLagP99Ms.toFixed(1)} ms, failed ${JSON.stringify(r.errors)}${limitSummary(r)}`);
  }
  await server.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
