// One fleet benchmark process, with a Runtime built from the configuration as
// `breakwater/register` builds it: the default policy with a rate limit too high ever
// to limit, in fleet mode or not. Whatever fleet mode does for such a policy (the rate's
// leases today, the breaker's and the budget's syncs once they are wired) is in what
// this process measures, its background work included. Prints one JSON line.
//   overhead VARIANT REDIS_URL WARMUP CALLS: sequential calls, wall and CPU ns per call.
//   rate VARIANT REDIS_URL CALLS_PER_SECOND SECONDS: Redis's command counts and the CPU over an open-loop run.
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.js';
import { RespClient } from '../../src/fleet/resp-client.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { VARIANTS } from './cases.js';
import type { Measurement, RateMeasurement, Variant } from './cases.js';
import { tickedOpenLoop } from './open-loop.js';
import { commandCounts, commandsBetween } from './report.js';

const TARGET = 'https://api.example.com:443';
const operation = (): Promise<number> => Promise.resolve(1);
const options = { target: TARGET, idempotent: true };
// Far above any call rate here, so neither the local bucket nor the fleet's ever makes a
// call wait; the burst lets a lease cover 100 ms of a million calls/s.
const RATE_PER_SECOND = 100_000_000;
const BURST = 1_000_000;
// Calls between two turns of the event loop: an application's I/O turns it all the time,
// and fleet mode's background work (a lease's reply) only runs there.
const CHUNK = 1_000;
// Lets the optimising compiler's background threads finish the jobs the warm-up queued,
// so their CPU time is not billed to the measured calls (as bench/adapters/variant.ts).
const SETTLE_MS = 50;
const READY_WITHIN_MS = 10_000;

function runtimeFor(redisUrl: string, fleet: boolean): Runtime {
  // The caller's BREAKWATER_* variables pass through (as in bench:adapters), so a switch can be measured too.
  return new Runtime(
    loadConfig({
      ...process.env,
      BREAKWATER_FLEET_REDIS_URL: redisUrl,
      BREAKWATER_FLEET_SERVICE: 'bench-fleet',
      BREAKWATER_FLEET: String(fleet),
      BREAKWATER_RATE_LIMIT_PER_SECOND: String(RATE_PER_SECOND),
      BREAKWATER_RATE_LIMIT_BURST: String(BURST),
    }),
  );
}

async function callInChunks(runtime: Runtime, n: number): Promise<void> {
  for (let done = 0; done < n; ) {
    const end = Math.min(n, done + CHUNK);
    for (; done < end; done++) await runtime.execute(operation, options);
    await turn();
  }
}

const decisionOf = (runtime: Runtime): string => runtime.circuit(TARGET).stats.rate?.decision ?? 'none';

/** Calls (`drive`) until the variant's steady state: the fleet deciding, or the connection known down. */
async function reachSteadyState(runtime: Runtime, variant: Variant, drive: () => Promise<unknown>): Promise<void> {
  const reached = (): boolean => {
    const connection = runtime.fleetStatus()?.connection;
    if (variant === 'fleet') return connection === 'up' && decisionOf(runtime) === 'fleet';
    if (variant === 'fleet-down') return connection === 'down';
    return true;
  };
  const deadline = Date.now() + READY_WITHIN_MS;
  while (!reached()) {
    if (Date.now() > deadline) throw new Error(`${variant}: no steady state within ${READY_WITHIN_MS} ms (connection ${runtime.fleetStatus()?.connection}, decision ${decisionOf(runtime)})`);
    await drive();
  }
}

async function overhead(variant: Variant, redisUrl: string, warmup: number, calls: number): Promise<Measurement> {
  const runtime = runtimeFor(redisUrl, variant !== 'local');
  const paced = async () => {
    await callInChunks(runtime, CHUNK);
    await sleep(10);
  };
  // Every variant warms up alike: `warmup` calls paced (fleet mode connects meanwhile),
  // more only while the steady state is not reached, then `warmup` at full speed, so
  // the fleet's lease is sized to the measured loop's demand (a step in demand runs out
  // of tokens for a lease's round trip).
  for (let done = 0; done < warmup; done += CHUNK) await paced();
  await reachSteadyState(runtime, variant, paced);
  await callInChunks(runtime, warmup);
  await sleep(SETTLE_MS);
  // Wall time per call, and this process's CPU time per call (every thread: the JIT's,
  // the GC's, and the socket work of fleet mode's background): on a shared machine the
  // second is the steadier figure.
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await callInChunks(runtime, calls);
  const wallNs = Number(process.hrtime.bigint() - started);
  const cpu = process.cpuUsage(cpuBefore);
  const decision = decisionOf(runtime);
  await runtime.close();
  return { variant, calls, wallNsPerCall: wallNs / calls, cpuNsPerCall: ((cpu.user + cpu.system) * 1000) / calls, decision };
}

async function rate(variant: Variant, redisUrl: string, callsPerSecond: number, seconds: number): Promise<RateMeasurement> {
  const runtime = runtimeFor(redisUrl, variant !== 'local');
  const call = () => runtime.execute(operation, options);
  // A second at the rate first (more until the fleet decides): the connection is up, the
  // script loaded and the lease's batch sized to the demand.
  const atRate = () => tickedOpenLoop(callsPerSecond, 1000, call);
  await atRate();
  await reachSteadyState(runtime, variant, atRate);
  // A connection of its own reads the counts; its INFO commands are left out of them.
  const reader = new RespClient(redisUrl);
  const info = async () => commandCounts(String(await reader.command(['INFO', 'commandstats'], 5000)));
  const before = await info();
  const cpuBefore = process.cpuUsage();
  const { calls, failed } = await tickedOpenLoop(callsPerSecond, seconds * 1000, call);
  const cpu = process.cpuUsage(cpuBefore);
  const after = await info();
  if (failed > 0) throw new Error(`${failed} of ${calls} calls failed at ${callsPerSecond} calls/s`);
  const decision = decisionOf(runtime);
  await reader.close();
  await runtime.close();
  return { variant, callsPerSecond, seconds, calls, commands: commandsBetween(before, after), cpuMsPerSecond: (cpu.user + cpu.system) / 1000 / seconds, decision };
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  // breakwater's Redis client never keeps a process alive: this does, while a reply is awaited.
  setInterval(() => {}, 60_000);
  const [variant, redisUrl, first, second] = args as [Variant, string, string, string];
  if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}: one of ${VARIANTS.join(', ')}`);
  let result: Measurement | RateMeasurement;
  if (mode === 'overhead') {
    result = await overhead(variant, redisUrl, Number(first), Number(second));
  } else if (mode === 'rate') {
    result = await rate(variant, redisUrl, Number(first), Number(second));
  } else {
    throw new Error(`unknown mode ${mode}: overhead or rate`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
