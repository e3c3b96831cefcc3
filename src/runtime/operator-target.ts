import { editDistance } from '../util/edit-distance.js';
import { httpTargetKey, INVALID_HOST, pgTargetKey, redisTargetKey } from '../target-key.js';

/**
 * The target an operator names on the status endpoint, as the key the adapters make for
 * it. `http://127.0.0.1:58080/` must find the breaker of `http://127.0.0.1:58080`, not
 * create a second one that no call uses (while the operator believes the dependency is
 * isolated), so the text goes through the adapters' own key functions (src/target-key.ts).
 */

/** Keys the key functions cannot rebuild from text (a socket's hash, a Sentinel name): taken as written. */
const AS_WRITTEN = /^[a-z]+\+(unix|sentinel|cluster):\/\//;

/** The target key `text` names, or undefined when it names none. */
export function operatorTargetKey(text: string): string | undefined {
  const trimmed = text.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return undefined;
  if (AS_WRITTEN.test(trimmed.toLowerCase())) return trimmed.toLowerCase();
  let key: string;
  if (scheme === 'http' || scheme === 'https') key = httpTargetKey(trimmed);
  else if (scheme === 'postgresql' || scheme === 'postgres') key = pgTargetKey(trimmed, {}); // {}: no PG* variable of this process fills in
  else if (scheme === 'redis' || scheme === 'rediss') key = redisTargetKey(trimmed);
  else return undefined;
  return hostOf(key) === INVALID_HOST ? undefined : key;
}

function hostOf(key: string): string | undefined {
  return /^[a-z+]+:\/\/(\[[^\]]*\]|[^:/]*)/.exec(key)?.[1];
}

function hostPortOf(key: string): string | undefined {
  return /^[a-z+]+:\/\/((\[[^\]]*\]|[^:/]*):\d+)/.exec(key)?.[1];
}

/**
 * Known targets that look like `key`, closest first, at most `max`: the same host and
 * port under another scheme or database, then the same host, then a key a few edits
 * away (a typo in the host name).
 */
export function lookAlikes(key: string, known: readonly string[], max = 5): string[] {
  const host = hostOf(key);
  const hostPort = hostPortOf(key);
  const ranked: Array<[number, string]> = [];
  for (const candidate of new Set(known)) {
    if (candidate === key) continue;
    let rank: number | undefined;
    if (hostPort !== undefined && hostPortOf(candidate) === hostPort) rank = 0;
    else if (host !== undefined && hostOf(candidate) === host) rank = 1;
    else if (editDistance(key, candidate, 4) < 4) rank = 2;
    if (rank !== undefined) ranked.push([rank, candidate]);
  }
  return ranked
    .sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]))
    .slice(0, max)
    .map(([, candidate]) => candidate);
}
