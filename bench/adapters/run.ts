// `npm run bench:adapters`: for each client, the success path of one call against a
// local server, side by side in one run: bare, official OpenTelemetry instrumentation
// alone, breakwater alone, both. Variants take turns (A B C D, A B C D, ...) in fresh
// processes so a drifting machine affects them alike; the median round is quoted.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { httpServer } from '../../test/integration/http-server.js';
import { postgres, redis, stopAllServers } from '../../test/integration/servers.js';
import type { Client, Variant } from './variant.js';

const VARIANTS: Variant[] = ['bare', 'official', 'breakwater', 'both'];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const VARIANT_SCRIPT = fileURLToPath(new URL('./variant.js', import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const execFileAsync = promisify(execFile);

// Asynchronous: the HTTP server the child calls lives in this process's event loop.
interface Sample {
  wall: number;
  cpu: number;
}

async function runVariant(client: Client, variant: Variant, target: string): Promise<Sample> {
  const { stdout: out } = await execFileAsync(process.execPath, [VARIANT_SCRIPT, client, variant, target, String(CALLS)], { encoding: 'utf8' });
  const { nsPerCall, cpuNsPerCall } = JSON.parse(out.trim().split('\n').pop()!) as { nsPerCall: number; cpuNsPerCall: number };
  return { wall: nsPerCall, cpu: cpuNsPerCall };
}

async function main(): Promise<void> {
  const only = process.argv.slice(2) as Client[];
  const http = await httpServer((_req, res) => res.end('ok'));
  const targets: Array<[Client, () => Promise<string>]> = [
    ['http', async () => http.url + '/'],
    ['fetch', async () => http.url + '/'],
    ['pg', async () => (await postgres()).url],
    ['ioredis', async () => (await redis()).url],
    ['redis', async () => (await redis()).url],
  ];
  console.log(`### Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}\n`);
  console.log(`${CALLS} sequential calls per process, ${ROUNDS} rounds, median round; an SDK with a batching, discarding span exporter in every variant but bare.\n`);
  console.log('Each cell: wall time per call / CPU time per call of the calling process (median rounds).\n');
  console.log('| client | bare | official alone | breakwater alone | both | breakwater / official (wall, CPU) | both / official (wall, CPU) |');
  console.log('|---|---|---|---|---|---|---|');
  try {
    for (const [client, targetOf] of targets) {
      if (only.length > 0 && !only.includes(client)) continue;
      const target = await targetOf();
      const samples = new Map<Variant, Sample[]>(VARIANTS.map((v) => [v, []]));
      for (let round = 0; round < ROUNDS; round++) for (const v of VARIANTS) samples.get(v)!.push(await runVariant(client, v, target));
      const wall = (v: Variant) => median(samples.get(v)!.map((s) => s.wall));
      const cpu = (v: Variant) => median(samples.get(v)!.map((s) => s.cpu));
      const us = (ns: number) => (ns / 1000).toFixed(1);
      const cell = (v: Variant) => `${us(wall(v))} / ${us(cpu(v))} µs`;
      const ratio = (v: Variant) => `${(wall(v) / wall('official')).toFixed(2)}, ${(cpu(v) / cpu('official')).toFixed(2)}`;
      console.log(`| ${client} | ${cell('bare')} | ${cell('official')} | ${cell('breakwater')} | ${cell('both')} | ${ratio('breakwater')} | ${ratio('both')} |`);
    }
  } finally {
    await http.close();
    await stopAllServers();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
