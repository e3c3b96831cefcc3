import { isObjectLike } from '../../src/classify/safe.js';

/**
 * A copy of a request's headers with the attempt's propagation headers (`traceparent`,
 * and whatever else the global propagator writes) set, replacing any of the same name:
 * one `traceparent` per attempt, the attempt span's. The caller's object is never
 * touched (it is reused by every attempt, and by the caller after the call).
 *
 * The copy keeps the form it was given in, so undici reads it as it would have read the
 * original: a fetch `Headers` stays a `Headers`, `[name, value]` pairs stay pairs, a flat
 * `[name, value, name, value]` array (undici.request) stays flat, a plain object stays a
 * plain object. Any other iterable of pairs (a Map) becomes an array of pairs.
 */
export function withPropagation(headers: unknown, propagation: Readonly<Record<string, string>>): unknown {
  const names = Object.keys(propagation);
  if (names.length === 0) return headers;
  const replaced = new Set(names.map((n) => n.toLowerCase()));
  const keep = (name: unknown): boolean => typeof name !== 'string' || !replaced.has(name.toLowerCase());

  if (headers === undefined || headers === null) return { ...propagation };
  if (!isObjectLike(headers)) return headers; // not headers undici accepts: let it say so
  if (Array.isArray(headers)) {
    if (headers.length > 0 && !Array.isArray(headers[0])) {
      const flat: unknown[] = [];
      for (let i = 0; i + 1 < headers.length; i += 2) if (keep(headers[i])) flat.push(headers[i], headers[i + 1]);
      for (const name of names) flat.push(name, propagation[name]);
      return flat;
    }
    return [...(headers as unknown[][]).filter((pair) => !Array.isArray(pair) || keep(pair[0])), ...names.map((n) => [n, propagation[n]])];
  }
  if (typeof Headers === 'function' && Object.prototype.toString.call(headers) === '[object Headers]') {
    const copy = new Headers(headers as ConstructorParameters<typeof Headers>[0]);
    for (const name of names) copy.set(name, propagation[name]!);
    return copy;
  }
  const iterator = (headers as Partial<Iterable<unknown>>)[Symbol.iterator];
  if (typeof iterator === 'function') {
    const pairs = [...(headers as Iterable<unknown>)].filter((pair) => !Array.isArray(pair) || keep(pair[0]));
    return [...pairs, ...names.map((n) => [n, propagation[n]])];
  }
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) if (keep(name)) copy[name] = value;
  return Object.assign(copy, propagation);
}
