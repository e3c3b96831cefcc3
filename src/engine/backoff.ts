import type { JitterMode } from './options.js';

/**
 * Backoff delays as pure functions of (settings, state, random), after the AWS
 * architecture blog's "Exponential Backoff And Jitter":
 *   none:         min(cap, base * multiplier^n)
 *   full:         random(0, that)
 *   equal:        that/2 + random(0, that/2)
 *   decorrelated: min(cap, random(base, previous * 3)), previous starting at base
 * Pure, so the bounds are property-tested with a seeded random and no clock.
 */
export interface BackoffSettings {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: JitterMode;
}

export interface BackoffState {
  /** Retries already scheduled (0 before the first retry). */
  readonly retries: number;
  /** The previous delay, which decorrelated jitter grows from. */
  readonly previousMs: number;
}

export const INITIAL_BACKOFF: BackoffState = { retries: 0, previousMs: 0 };

export function exponentialCeiling(settings: BackoffSettings, retries: number): number {
  return Math.min(settings.maxDelayMs, settings.baseDelayMs * Math.pow(settings.multiplier, retries));
}

export function nextBackoff(settings: BackoffSettings, state: BackoffState, random: () => number): [number, BackoffState] {
  let delay: number;
  switch (settings.jitter) {
    case 'none':
      delay = exponentialCeiling(settings, state.retries);
      break;
    case 'full':
      delay = random() * exponentialCeiling(settings, state.retries);
      break;
    case 'equal': {
      const ceiling = exponentialCeiling(settings, state.retries);
      delay = ceiling / 2 + random() * (ceiling / 2);
      break;
    }
    case 'decorrelated': {
      const base = Math.min(settings.baseDelayMs, settings.maxDelayMs);
      const previous = state.previousMs > 0 ? state.previousMs : base;
      const upper = Math.max(base, previous * 3);
      delay = Math.min(settings.maxDelayMs, base + random() * (upper - base));
      break;
    }
  }
  delay = Math.round(delay);
  return [delay, { retries: state.retries + 1, previousMs: delay }];
}
