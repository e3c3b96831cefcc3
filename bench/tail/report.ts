// The tail benchmark's Markdown: per client and variant, the p50, p99 and p99.9 of the
// calls' latency, the extra load on the server and the errors, each "min / median" over
// the rounds, and the targets of the hedged variants against the unhedged one; then what
// explains a miss: how late calls started (the machine's share of the tail), how many
// connections the client opened (what cancelling the losers cost) and the client's
// longest garbage-collection pause.
import { percentile, summarise, type Summary } from '../stats.js';
import { CLIENT_LABELS, TARGETS, VARIANTS, VARIANT_LABELS } from './cases.js';
import type { Client, RoundResult, Variant } from './cases.js';

const QUANTILES = [
  { name: 'p50', q: 0.5 },
  { name: 'p99', q: 0.99 },
  { name: 'p99.9', q: 0.999 },
] as const;

/** One round's figures for one variant. */
export interface RoundFigures {
  p50: number;
  p99: number;
  'p99.9': number;
  /** Requests the server received per call, minus one. */
  extraLoad: number;
  errors: number;
  startLagP999: number;
  newConnections: number;
  gcPauseMax: number;
}

export function roundFigures(round: RoundResult): RoundFigures {
  const sorted = [...round.latenciesMs].sort((a, b) => a - b);
  const [p50, p99, p999] = QUANTILES.map(({ q }) => percentile(sorted, q)) as [number, number, number];
  return {
    p50,
    p99,
    'p99.9': p999,
    extraLoad: round.serverRequests / round.latenciesMs.length - 1,
    errors: round.errors,
    startLagP999: round.startLagMs['p99.9'],
    newConnections: round.newConnections,
    gcPauseMax: round.gcPauseMaxMs,
  };
}

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const pct = (share: number): string => `${(share * 100).toFixed(1)}%`;
const bold = (text: string, missed: boolean): string => (missed ? `**${text}**` : text);

export function tableHeader(): string {
  const columns = [
    'client',
    'variant',
    ...QUANTILES.map((q) => `${q.name} (ms)`),
    `extra requests (≤ ${pct(TARGETS.maxExtraLoad)})`,
    'errors',
    `p99.9 unhedged / p99.9 (≥ ${TARGETS.p999Reduction})`,
    'start lag p99.9 (ms)',
    'connections opened',
    'longest GC pause (ms)',
  ];
  return [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`].join('\n');
}

/**
 * One row per variant; every cell is "min / median" over the rounds. A hedged variant's
 * figure that misses its target is bold, so a reader scanning the table sees it.
 */
export function tableRows(client: Client, rounds: ReadonlyMap<Variant, RoundResult[]>): string {
  const figures = new Map(VARIANTS.map((v) => [v, (rounds.get(v) ?? []).map(roundFigures)]));
  const summary = (variant: Variant, key: keyof RoundFigures): Summary => summarise(figures.get(variant)!.map((f) => f[key]));
  const unhedged = summary('none', 'p99.9');
  return VARIANTS.map((variant, i) => {
    const hedged = variant !== 'none';
    const latency = QUANTILES.map(({ name }) => {
      const s = summary(variant, name);
      return `${ms(s.min)} / ${ms(s.median)}`;
    });
    const extra = summary(variant, 'extraLoad');
    const extraText = [extra.min, extra.median].map((share) => bold(pct(share), hedged && share > TARGETS.maxExtraLoad)).join(' / ');
    const errors = figures.get(variant)!.reduce((sum, f) => sum + f.errors, 0);
    const p999 = summary(variant, 'p99.9');
    const reductions = [unhedged.min / p999.min, unhedged.median / p999.median];
    const reductionText = hedged ? reductions.map((r) => bold(r.toFixed(1), r < TARGETS.p999Reduction)).join(' / ') : '';
    const lag = summary(variant, 'startLagP999');
    const connections = summary(variant, 'newConnections');
    const gcPause = summary(variant, 'gcPauseMax');
    const cells = [i === 0 ? CLIENT_LABELS[client] : '', VARIANT_LABELS[variant], ...latency, extraText, String(errors), reductionText];
    cells.push(`${ms(lag.min)} / ${ms(lag.median)}`, `${connections.min} / ${connections.median}`, `${ms(gcPause.min)} / ${ms(gcPause.median)}`);
    return `| ${cells.join(' | ')} |`;
  }).join('\n');
}

/** The error messages the rounds saw, if any, for a line under the table. */
export function errorNotes(client: Client, rounds: ReadonlyMap<Variant, RoundResult[]>): string[] {
  return VARIANTS.flatMap((variant) => {
    const samples = [...new Set((rounds.get(variant) ?? []).flatMap((r) => r.errorSamples))];
    return samples.length > 0 ? [`${client}, ${VARIANT_LABELS[variant]}: ${samples.join('; ')}`] : [];
  });
}
