/**
 * The errors node:http's ClientRequest raises on misuse (lib/internal/errors.js), made
 * with the same class, code and message, so code that checks `err.code` behaves the
 * same with breakwater's request in front of the real one.
 */

function nodeError<E extends Error>(error: E, code: string): E & { code: string } {
  return Object.assign(error, { code });
}

export function writeAfterEndError(): Error {
  return nodeError(new Error('write after end'), 'ERR_STREAM_WRITE_AFTER_END');
}

export function destroyedError(method: string): Error {
  return nodeError(new Error(`Cannot call ${method} after a stream was destroyed`), 'ERR_STREAM_DESTROYED');
}

export function alreadyFinishedError(method: string): Error {
  return nodeError(new Error(`Cannot call ${method} after a stream was finished`), 'ERR_STREAM_ALREADY_FINISHED');
}

/** What an `AbortSignal` passed as `options.signal` destroys the request with. */
export function abortError(cause: unknown): Error {
  const error = nodeError(new Error('The operation was aborted', { cause }), 'ABORT_ERR');
  error.name = 'AbortError';
  return error;
}

/** A request that closed with neither a response nor an error (Node reports it so). */
export function socketHangUpError(): Error {
  return nodeError(new Error('socket hang up'), 'ECONNRESET');
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return ` Received ${String(value)}`;
  if (typeof value === 'function') return ' Received function';
  if (typeof value === 'object') return ` Received an instance of ${(value as object).constructor?.name ?? 'Object'}`;
  return ` Received type ${typeof value}`;
}

/** Throws what OutgoingMessage#write throws for a chunk that is not a string, Buffer or Uint8Array. */
export function checkChunk(chunk: unknown): asserts chunk is string | Uint8Array {
  if (chunk === null) throw nodeError(new TypeError('May not write null values to stream'), 'ERR_STREAM_NULL_VALUES');
  if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
    throw nodeError(new TypeError(`The "chunk" argument must be of type string or an instance of Buffer or Uint8Array.${describe(chunk)}`), 'ERR_INVALID_ARG_TYPE');
  }
}
