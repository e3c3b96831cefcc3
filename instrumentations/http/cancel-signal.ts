/**
 * The caller's cancel of one http call, as the policy engine reads a caller's signal:
 * `aborted`, `reason`, and `abort` listeners (src/engine/attempt.ts, policy.ts, and the
 * classifier's "the caller's own reason is `cancelled`").
 *
 * Not an AbortController because every call needs one and almost none is cancelled:
 * on Node 20 creating an AbortSignal costs about 6 µs (it is a transferable
 * EventTarget), several percent of a loopback GET. This costs an object until used.
 */
export class CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  // The engine adds one listener per attempt and removes it after: one slot, no array.
  private first: (() => void) | undefined;
  private more: Array<() => void> | undefined;

  addEventListener(type: string, listener: () => void): void {
    if (type !== 'abort' || this.aborted) return;
    if (this.first === undefined) this.first = listener;
    else (this.more ??= []).push(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    if (type !== 'abort') return;
    if (this.first === listener) {
      this.first = this.more?.shift();
      return;
    }
    const i = this.more?.indexOf(listener) ?? -1;
    if (i >= 0) this.more!.splice(i, 1);
  }

  /** Aborts once; each listener runs once, as with `{ once: true }`. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.first === undefined ? [] : [this.first, ...(this.more ?? [])];
    this.first = this.more = undefined;
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // a listener of the engine never throws; if one did, the others must still run
      }
    }
  }

  /** For the engine's ExecuteOptions, typed as a DOM AbortSignal of which it uses only the members above. */
  asAbortSignal(): AbortSignal {
    return this as unknown as AbortSignal;
  }
}
