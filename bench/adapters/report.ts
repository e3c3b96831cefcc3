// The adapter benchmark's Markdown: per client, min and median over rounds of the wall
// and the CPU time per call of every variant, and the target ratios on both statistics.
import { CLIENT_LABELS, RATIOS, VARIANTS, VARIANT_LABELS } from './cases.js';
import type { Client, Measurement, Variant } from './cases.js';
import { summarise } from '../stats.js';

type Clock = 'wall' | 'cpu' | 'user';

function perCall(rounds: Measurement[], clock: Clock): number[] {
  return rounds.map((m) => (clock === 'wall' ? m.wallNsPerCall : clock === 'cpu' ? m.cpuNsPerCall : m.userCpuNsPerCall));
}

const CLOCK_LABELS: Record<Clock, string> = { wall: 'wall', cpu: 'CPU', user: 'user CPU' };

const micros = (ns: number): string => (ns / 1000).toFixed(1);

// Over target is bold, so a reader scanning the table sees what misses.
function ratioText(ratio: number, target: number): string {
  const text = ratio.toFixed(2);
  return ratio > target ? `**${text}**` : text;
}

export function tableHeader(): string {
  const variants = VARIANTS.map((v) => `${VARIANT_LABELS[v]} (µs)`);
  const ratios = RATIOS.map((r) => `${VARIANT_LABELS[r.variant]} / ${VARIANT_LABELS[r.baseline]} (≤ ${r.target.toFixed(2)})`);
  const columns = ['client', 'time per call', ...variants, ...ratios];
  return [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`].join('\n');
}

/** Three rows, wall, CPU, then its user-mode part; every cell is "min / median" over the rounds. */
export function tableRows(client: Client, samples: ReadonlyMap<Variant, Measurement[]>): string {
  const rows: string[] = [];
  for (const clock of ['wall', 'cpu', 'user'] as const) {
    const summaries = new Map(VARIANTS.map((v) => [v, summarise(perCall(samples.get(v) ?? [], clock))]));
    const cells = VARIANTS.map((v) => `${micros(summaries.get(v)!.min)} / ${micros(summaries.get(v)!.median)}`);
    const ratios = RATIOS.map(({ variant, baseline, target }) => {
      const over = summaries.get(variant)!;
      const under = summaries.get(baseline)!;
      return `${ratioText(over.min / under.min, target)} / ${ratioText(over.median / under.median, target)}`;
    });
    const label = clock === 'wall' ? CLIENT_LABELS[client] : '';
    rows.push(`| ${[label, CLOCK_LABELS[clock], ...cells, ...ratios].join(' | ')} |`);
  }
  return rows.join('\n');
}
