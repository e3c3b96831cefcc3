/**
 * "Does this message start with one of these texts?", for the hot path.
 *
 * `String#startsWith` costs tens of nanoseconds a call in V8 even when it fails at the
 * first character, so testing every known prefix in turn made a Redis `ERR` reply the
 * slowest error to classify. The table indexes its texts by the character at `at` (all
 * texts are longer than that) and tests only the ones that share it: usually none.
 */
export class PrefixTable<T> {
  private readonly byChar = new Map<number, Array<readonly [string, T]>>();

  constructor(
    entries: ReadonlyArray<readonly [string, T]>,
    private readonly at = 0,
  ) {
    for (const entry of entries) {
      const text = entry[0];
      if (text.length <= at) throw new Error(`prefix "${text}" is too short to be indexed at ${at}`);
      const c = text.charCodeAt(at);
      const list = this.byChar.get(c);
      if (list === undefined) this.byChar.set(c, [entry]);
      else list.push(entry);
    }
  }

  /** The value of the first text `message` starts with, or undefined. */
  match(message: string): T | undefined {
    if (message.length <= this.at) return undefined;
    const candidates = this.byChar.get(message.charCodeAt(this.at));
    if (candidates === undefined) return undefined;
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i]!;
      if (message.startsWith(candidate[0])) return candidate[1];
    }
    return undefined;
  }
}

