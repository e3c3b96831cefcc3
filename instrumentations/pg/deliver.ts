import type { Context } from '@opentelemetry/api';
import { bindToCaller } from '../kit/calls.js';
import type { QueryCallback } from './query-args.js';

type PromiseCtor = new <T>(executor: (resolve: (value: T) => void, reject: (reason: unknown) => void) => void) => PromiseLike<T>;

/**
 * Hands a call's outcome to the caller the way pg would: to the callback (and the call
 * returns undefined), or as a promise of the Promise class the client or pool was
 * configured with. The callback runs in the caller's context, outside the promise chain
 * (next tick), so an exception it throws is an uncaught exception, as it is with pg.
 */
export function deliver(outcome: Promise<unknown>, callback: QueryCallback | undefined, callerContext: Context, promiseClass: unknown): unknown {
  if (callback !== undefined) {
    const bound = bindToCaller(callerContext, callback);
    outcome.then(
      (result) => process.nextTick(bound, undefined, result),
      (error: unknown) => process.nextTick(bound, error),
    );
    return undefined;
  }
  if (typeof promiseClass !== 'function' || promiseClass === Promise) return outcome;
  try {
    return new (promiseClass as PromiseCtor)((resolve, reject) => outcome.then(resolve, reject));
  } catch {
    return outcome;
  }
}
