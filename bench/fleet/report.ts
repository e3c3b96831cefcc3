// The fleet benchmark's arithmetic and Markdown: Redis's command counts from `INFO
// commandstats`, and the tables of per-call cost and of Redis operations per second.
import { summarise } from '../stats.js';
import { OVERHEAD_TARGET_NS, VARIANTS, VARIANT_LABELS } from './cases.js';
import type { Measurement, RateMeasurement, Variant } from './cases.js';

/** Calls per command from `INFO commandstats` text (`cmdstat_evalsha:calls=12,...`), by lower-case name (`script|load`). */
export function commandCounts(info: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:\s]+):calls=(\d+)/gm)) counts[match[1]!.toLowerCase()] = Number(match[2]);
  return counts;
}

/**
 * The commands run between two readings, without those in `excluded` (the reader's own
 * INFO); a command first seen in `after` counts from zero.
 */
export function commandsBetween(before: Record<string, number>, after: Record<string, number>, excluded: readonly string[] = ['info']): Record<string, number> {
  const ran: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after)) {
    const delta = calls - (before[name] ?? 0);
    if (delta > 0 && !excluded.includes(name)) ran[name] = delta;
  }
  return ran;
}

const ns = (value: number): string => value.toFixed(0);
const cell = (values: readonly number[]): string => {
  const { min, median } = summarise(values);
  return `${ns(min)} / ${ns(median)}`;
};
// Over target is bold, so a reader scanning the table sees what misses.
const againstTarget = (value: number): string => (value > OVERHEAD_TARGET_NS ? `**${ns(value)}**` : ns(value));

/**
 * Per variant, wall and CPU ns per call as "min / median" over rounds; then fleet minus
 * local: the difference of the minimums, and the median of the per-round differences
 * (the two processes of one round ran next to each other, so drift mostly cancels).
 */
export function overheadTable(samples: ReadonlyMap<Variant, readonly Measurement[]>): string {
  const lines = ['| variant | wall ns/call (min / median) | CPU ns/call (min / median) | rate decision |', '|---|---|---|---|'];
  for (const variant of VARIANTS) {
    const rounds = samples.get(variant) ?? [];
    if (rounds.length === 0) continue;
    const decisions = [...new Set(rounds.map((m) => m.decision))].join(', ');
    lines.push(`| ${VARIANT_LABELS[variant]} | ${cell(rounds.map((m) => m.wallNsPerCall))} | ${cell(rounds.map((m) => m.cpuNsPerCall))} | ${decisions} |`);
  }
  for (const other of ['fleet', 'fleet-down'] as const) {
    const local = samples.get('local') ?? [];
    const fleet = samples.get(other) ?? [];
    if (local.length === 0 || fleet.length === 0) continue;
    const difference = (clock: 'wallNsPerCall' | 'cpuNsPerCall'): string => {
      const ofMinimums = summarise(fleet.map((m) => m[clock])).min - summarise(local.map((m) => m[clock])).min;
      const perRound = fleet.slice(0, local.length).map((m, round) => m[clock] - local[round]![clock]);
      return `${againstTarget(ofMinimums)} / ${againstTarget(summarise(perRound).median)}`;
    };
    lines.push(`| difference: ${VARIANT_LABELS[other]} − local | ${difference('wallNsPerCall')} | ${difference('cpuNsPerCall')} | target ≤ ${OVERHEAD_TARGET_NS} |`);
  }
  return lines.join('\n');
}

/**
 * The commands breakwater's client sends (docs/fleet-setup.md, "Security"), each a
 * request of its own; every other command counted ran inside a script (`TIME`, `GET`).
 */
const SENT = new Set(['auth', 'select', 'ping', 'eval', 'evalsha', 'script', 'script|load']);

/** Requests the instance sent, and commands its scripts ran, from a run's counts. */
export function splitCommands(commands: Readonly<Record<string, number>>): { sent: number; inScripts: number } {
  let sent = 0;
  let inScripts = 0;
  for (const [name, calls] of Object.entries(commands)) {
    if (SENT.has(name)) sent += calls;
    else inScripts += calls;
  }
  return { sent, inScripts };
}

/** Per call rate: Redis commands per second of one instance, by command, and the instance's CPU. */
export function rateTable(runs: readonly RateMeasurement[]): string {
  const names = [...new Set(runs.flatMap((run) => Object.keys(run.commands)))].sort((a, b) => Number(SENT.has(b)) - Number(SENT.has(a)) || a.localeCompare(b));
  const perSecond = (run: RateMeasurement, calls: number): string => (calls / run.seconds).toFixed(1);
  const columns = [
    'mode',
    'calls/s (asked)',
    'calls/s (made)',
    ...names.map((name) => `\`${name.toUpperCase()}\`/s${SENT.has(name) ? '' : ' (in scripts)'}`),
    'requests sent/s',
    'commands in scripts/s',
    'instance CPU (ms/s)',
    'rate decision',
  ];
  const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`];
  for (const run of runs) {
    const { sent, inScripts } = splitCommands(run.commands);
    const cells = [
      run.variant,
      run.callsPerSecond.toLocaleString('en-US'),
      Math.round(run.calls / run.seconds).toLocaleString('en-US'),
      ...names.map((name) => perSecond(run, run.commands[name] ?? 0)),
      `**${perSecond(run, sent)}**`,
      perSecond(run, inScripts),
      run.cpuMsPerSecond.toFixed(0),
      run.decision,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
