// What every benchmark harness reads from its environment and says about the machine.
import os from 'node:os';

/** A positive whole number from the environment (BENCH_CALLS=2000), or `fallback` when unset. */
export function countFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

/** The 1-, 5- and 15-minute load averages: on a shared machine, how much the figures are worth. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(', ');
}

/** The last line of a harness's report: how long it took on this Node (`started`: process.hrtime.bigint()) and the load then. */
export function elapsedLine(started: bigint): string {
  const minutes = Number(process.hrtime.bigint() - started) / 60e9;
  return `Elapsed on Node ${process.version}: ${minutes.toFixed(1)} min. Load average at end: ${loadAverage()}.`;
}

/** The items named on the command line, in `all`'s order; every item when none is named. */
export function chosenFromArgs<T extends string>(all: readonly T[], what: string): T[] {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !all.includes(name as T));
  if (unknown.length > 0) throw new Error(`unknown ${what} ${unknown.join(', ')}: one of ${all.join(', ')}`);
  return asked.length === 0 ? [...all] : all.filter((item) => asked.includes(item));
}
