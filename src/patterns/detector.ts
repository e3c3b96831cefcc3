import { systemClock, type Clock } from '../engine/clock.js';
import { ALERT_RULES, type AlertRule, type SeriesView } from './alerts.js';
import { AlertState } from './alert-state.js';
import type { Count } from './counts.js';
import { BoundedSeries, BreakerSeries, DependencySeries } from './series.js';
import { DEFAULT_MAX_SERIES, MAX_CATCH_UP_MINUTES } from './windows.js';

/** A pattern that started firing: one per episode of one alert and label set. */
export interface Detection {
  /** The Prometheus alert it mirrors (BreakwaterRetryStorm). */
  readonly alert: string;
  /** Its `pattern` label (retry_storm). */
  readonly pattern: string;
  readonly target: string;
  /** The alert's labels besides alertname, severity and pattern. */
  readonly labels: Readonly<Record<string, string>>;
  readonly summary: string;
  /** The minute of event time it was detected at (clock time × timeScale / 60 000). */
  readonly minute: number;
}

export interface PatternDetectorOptions {
  /** Only `now()` is read: the detector never sets a timer. */
  readonly clock?: Pick<Clock, 'now'>;
  /** Dependencies (target, client) tracked, and as many breakers (target, policy); the least recently used go first. */
  readonly maxSeries?: number;
  readonly onDetection?: (detection: Detection) => void;
  /**
   * How many times faster than the clock the detector's minutes pass (default 1). The
   * rules keep their windows in minutes; a demo or a test that cannot wait for them runs
   * with 60, where a minute lasts a second, as the end-to-end test scales the Prometheus rules.
   */
  readonly timeScale?: number;
}

const MINUTE_MS = 60_000;

/**
 * The pattern alerts of collector/rules/breakwater.rules.yaml, in one process. Counts go
 * into per-minute counters (src/patterns/series.ts); when the first count of a new
 * minute arrives, every finished minute not yet evaluated is evaluated, once, as
 * Prometheus evaluates its rules each minute. With no timer, nothing here keeps the
 * process alive, and a minute is evaluated only when a later event arrives (a detection
 * can wait for the next call).
 */
export class PatternDetector {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly dependencies: BoundedSeries<DependencySeries>;
  private readonly breakers: BoundedSeries<BreakerSeries>;
  private readonly rules: ReadonlyArray<{ rule: AlertRule; state: AlertState }>;
  private readonly onDetection: (detection: Detection) => void;
  private readonly view: SeriesView;
  private readonly minuteMs: number;
  /** The first minute not evaluated yet; undefined before the first count. */
  private next: number | undefined;

  constructor(options: PatternDetectorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    const scale = options.timeScale ?? 1;
    this.minuteMs = Number.isFinite(scale) && scale >= 1 ? MINUTE_MS / scale : MINUTE_MS;
    const limit = Math.max(1, Math.floor(options.maxSeries ?? DEFAULT_MAX_SERIES));
    this.dependencies = new BoundedSeries(limit);
    this.breakers = new BoundedSeries(limit);
    this.rules = ALERT_RULES.map((rule) => ({ rule, state: new AlertState(rule.forMinutes, rule.keepFiringForMinutes) }));
    this.onDetection = options.onDetection ?? (() => {});
    this.view = { dependencies: () => this.dependencies.values(), breakers: () => this.breakers.values() };
  }

  /** Adds a count of one series at `at` (clock milliseconds). Never throws. */
  record(count: Count, at?: number): void {
    try {
      // A negative or non-numeric count would poison a counter for good: dropped.
      if (count.kind !== 'circuit_state' && !(Number.isFinite(count.count) && count.count >= 0)) return;
      const minute = this.advance(at ?? this.clock.now());
      if (count.kind === 'attempts' || count.kind === 'retries' || count.kind === 'hedges' || count.kind === 'operations') {
        this.dependencies.obtain(`${count.target}\u0000${count.client}`, () => new DependencySeries(count.target, count.client, minute)).record(count, minute);
      } else {
        this.breakers.obtain(`${count.target}\u0000${count.policy}`, () => new BreakerSeries(count.target, count.policy, minute)).record(count, minute);
      }
    } catch {
      // a detector's bug must never fail the call that fed it
    }
  }

  /** Evaluates every minute that ended before `at` (for a caller with no further events to wait for). Never throws. */
  flush(at?: number): void {
    try {
      this.advance(at ?? this.clock.now());
    } catch {
      // as in record()
    }
  }

  /** The alerts firing after the last evaluated minute. */
  firing(): Array<Omit<Detection, 'minute'>> {
    return this.rules.flatMap(({ rule, state }) =>
      state.firing().map((f) => ({ alert: rule.name, pattern: rule.pattern, target: f.target, labels: f.labels, summary: f.summary })),
    );
  }

  /** How many series and pending or firing alerts are held (for the memory bound's tests). */
  stats(): { dependencies: number; breakers: number; samples: number; alerts: number } {
    let samples = 0;
    for (const d of this.dependencies.values()) samples += d.samples();
    for (const b of this.breakers.values()) samples += b.samples();
    return { dependencies: this.dependencies.size, breakers: this.breakers.size, samples, alerts: this.rules.reduce((n, r) => n + r.state.size, 0) };
  }

  /** Evaluates the finished minutes before `at`'s; returns the minute new counts belong to. */
  private advance(at: number): number {
    const minute = Math.floor(at / this.minuteMs);
    // A clock reading that is not a time (NaN, Infinity) moves nothing.
    if (!Number.isFinite(minute)) return this.next ?? 0;
    if (this.next === undefined) {
      this.next = minute;
      return minute;
    }
    // A count stamped in a minute already evaluated joins the first open one.
    if (minute <= this.next) return this.next;
    const last = minute - 1;
    for (let m = Math.max(this.next, last - MAX_CATCH_UP_MINUTES + 1); m <= last; m++) this.evaluate(m);
    this.next = minute;
    return minute;
  }

  private evaluate(minute: number): void {
    for (const { rule, state } of this.rules) {
      let fired;
      try {
        fired = state.step(minute, rule.evaluate(this.view, minute));
      } catch {
        continue; // one rule's failure leaves the others running
      }
      for (const f of fired) {
        try {
          this.onDetection({ alert: rule.name, pattern: rule.pattern, target: f.target, labels: f.labels, summary: f.summary, minute });
        } catch {
          // a reporter's failure is not the caller's
        }
      }
    }
  }
}
