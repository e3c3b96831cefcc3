import { editDistance } from '../util/edit-distance.js';
/**
 * "Did you mean ...?" for a misspelt key, variable or value: the closest candidate once
 * case, `_` and `-` are ignored (so `max_attempts` finds `maxAttempts`), within an edit
 * distance that grows with the length of the word, or one made of the same words in
 * another order (`BREAKWATER_MAX_RETRY_ATTEMPTS`).
 */
export function suggest(given: string, candidates: readonly string[]): string | undefined {
  const norm = normalise(given);
  const words = sortedWords(given);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const c = normalise(candidate);
    if (c === norm || sortedWords(candidate) === words) return candidate;
    const d = editDistance(norm, c, bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const allowed = Math.max(1, Math.min(3, Math.floor(norm.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '');
}

function sortedWords(s: string): string {
  return s.toLowerCase().split(/[_-]+/).sort().join('_');
}
