import type { Finding } from './alerts.js';

interface Active {
  finding: Finding;
  activeAt: number;
  firing: boolean;
  /** The first minute the condition was false while firing (keep_firing_for counts from it). */
  keepFiringSince: number | undefined;
}

/**
 * One alert's pending and firing label sets, stepped once a minute exactly as
 * Prometheus's alerting rule does: pending from the first minute the condition holds,
 * firing once it has held for `for`, dropped (pending) or resolved (firing) on the first
 * minute it does not, unless keep_firing_for holds a firing one that long. A label set
 * that resolves and fires again later is a new episode.
 */
export class AlertState {
  private readonly active = new Map<string, Active>();

  constructor(
    private readonly forMinutes: number,
    private readonly keepFiringForMinutes: number,
  ) {}

  /** Steps to `minute` with that minute's findings; returns those that started firing. */
  step(minute: number, findings: readonly Finding[]): Finding[] {
    const seen = new Set<string>();
    for (const finding of findings) {
      seen.add(finding.key);
      const current = this.active.get(finding.key);
      if (current === undefined) this.active.set(finding.key, { finding, activeAt: minute, firing: false, keepFiringSince: undefined });
      else {
        current.finding = finding;
        current.keepFiringSince = undefined;
      }
    }
    const fired: Finding[] = [];
    for (const [key, alert] of this.active) {
      if (!seen.has(key)) {
        if (!alert.firing || this.keepFiringForMinutes === 0) {
          this.active.delete(key);
          continue;
        }
        alert.keepFiringSince ??= minute;
        if (minute - alert.keepFiringSince >= this.keepFiringForMinutes) {
          this.active.delete(key);
          continue;
        }
      }
      if (!alert.firing && minute - alert.activeAt >= this.forMinutes) {
        alert.firing = true;
        fired.push(alert.finding);
      }
    }
    return fired;
  }

  /** The label sets firing now. */
  firing(): Finding[] {
    return [...this.active.values()].filter((a) => a.firing).map((a) => a.finding);
  }

  get size(): number {
    return this.active.size;
  }
}
