import type { ReplayDecision } from '../../src/engine/policy.js';
import { httpReplayDecision, isReplayableBody } from '../http/replay.js';

export interface FetchReplayInput {
  method: string;
  /** The headers the request is sent with (fetch: `init.headers`, else the Request's). */
  headers: unknown;
  /** The body as the caller gave it; a Request's own body is a ReadableStream. */
  body: unknown;
  /** The caller's `idempotent(fn)` mark, when there is one. */
  idempotencyMark: boolean | undefined;
}

/**
 * Whether a failed fetch or undici request may be sent again (design.md section 3,
 * instrumentations/http/replay.ts): never when the body cannot be sent twice (a stream,
 * an async iterable, a Request's own body, more than MAX_REPLAYABLE_BODY_BYTES); then
 * as the caller marked it with `idempotent(fn)`; otherwise an idempotent method, an
 * `Idempotency-Key`, or a failure that proves nothing was sent. Never throws.
 */
export function fetchReplayDecision(input: FetchReplayInput, failure: unknown): ReplayDecision {
  if (!isReplayableBody(input.body)) return 'not_idempotent';
  if (input.idempotencyMark !== undefined) return input.idempotencyMark ? true : 'not_idempotent';
  return httpReplayDecision({ method: input.method, headers: input.headers, body: input.body, failure });
}
