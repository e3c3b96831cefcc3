// The tail benchmark's pictures: per client, the latency CDF of every variant (all
// rounds' calls together) on a log time axis against a "nines" axis, where p99 and
// p99.9 get as much room as the median, so what hedging does to the tail shows.
import { writeFileSync } from 'node:fs';
import { cdfPoints, renderLineChart } from '../chart/line-chart.js';
import { CLIENT_LABELS, FAST_MS, SLOW_MS, SLOW_SHARE, VARIANTS, VARIANT_LABELS } from './cases.js';
import type { Client, RoundResult, Variant } from './cases.js';

/** Writes the CDF chart of `client` to `file` (PNG). */
export function writeCdfChart(file: string, client: Client, ratePerSecond: number, rounds: ReadonlyMap<Variant, RoundResult[]>): void {
  const series = VARIANTS.map((variant) => ({
    name: VARIANT_LABELS[variant],
    points: cdfPoints((rounds.get(variant) ?? []).flatMap((r) => r.latenciesMs)),
    // Without hedging dashed: the line the others are read against.
    dashed: variant === 'none',
  }));
  const png = renderLineChart({
    title: `${CLIENT_LABELS[client].replace(/`/g, '')}: ${ratePerSecond} calls/s, ${SLOW_SHARE * 100}% of requests ${SLOW_MS} ms, the rest ${FAST_MS} ms`,
    xLabel: 'latency from scheduled start (ms, log scale)',
    yLabel: 'share of calls at or under it',
    xScale: 'log',
    yScale: 'nines',
    // From 1 ms and p50: every answer takes the server's 2 ms at least, and below the median all variants agree.
    xMin: 1,
    yMin: 0.5,
    series,
  });
  writeFileSync(file, png);
}
