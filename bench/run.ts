import os from 'node:os';
import { admissionCases } from './admission.bench.js';
import { executeCases, formatTimingCost, timingCost } from './execute.bench.js';
import { formatTable, measure } from './measure.js';

/** `npm run bench`: prints Markdown for BENCHMARKS.md, for the Node running it. */
async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`### Node ${process.version}, ${os.cpus().length} × ${cpu}, ${os.platform()} ${os.release()}\n`);

  console.log('#### execute() on a no-op async operation, no SDK registered\n');
  const execute = await measure(await executeCases(), { batch: 20_000, rounds: 15, warmupRounds: 3 });
  console.log(formatTable(execute, 'bare await'));
  const bare = execute.find((r) => r.name === 'bare await')!.medianNs;
  const overhead = (name: string) => execute.find((r) => r.name.startsWith(name))!.medianNs - bare;
  const ratio = overhead('breakwater (retry') / overhead('cockatiel');
  console.log(`\nbreakwater overhead / cockatiel overhead = ${ratio.toFixed(2)} (target: at most 0.50)\n`);
  console.log(`${formatTimingCost(await timingCost())}\n`);

  console.log('#### Breaker admission\n');
  console.log(formatTable(await measure(admissionCases(), { batch: 1_000_000, rounds: 15, warmupRounds: 3 })));
  console.log('');

  try {
    const { classifyCases } = await import('./classify.bench.js' as string);
    console.log('#### classify() on real errors from real servers\n');
    console.log(formatTable(await measure(await classifyCases(), { batch: 200_000, rounds: 15, warmupRounds: 3 })));
  } finally {
    const { stopAllServers } = await import('../test/integration/servers.js' as string).catch(() => ({ stopAllServers: async () => {} }));
    await stopAllServers();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
