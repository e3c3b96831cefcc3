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
    const d = distance(norm, c, bestDistance);
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

/** Levenshtein distance, giving up (returning `limit`) once every path exceeds `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= limit) return limit;
    previous = current;
  }
  return previous[b.length]!;
}
