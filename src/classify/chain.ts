import { isObjectLike, readCause, readErrorList } from './safe.js';

/**
 * The errors a failure is made of: itself, its `cause` chain and the members of
 * `AggregateError.errors` (fetch's "fetch failed" keeps the real error in `cause`;
 * a connection refused on every address of `localhost` is an AggregateError of
 * per-address errors). Breadth first, so outer errors come before the ones they wrap.
 *
 * The walk is bounded: at most MAX_NODES errors in all and MAX_AGGREGATE members of any
 * one AggregateError, each error visited once, so a cyclic or 10,000-deep cause chain
 * costs the same as a short one.
 */
export const MAX_NODES = 32;
export const MAX_AGGREGATE = 16;

function enqueue(queue: object[], value: unknown): void {
  if (!isObjectLike(value) || queue.length >= MAX_NODES) return;
  for (let i = 0; i < queue.length; i++) if (queue[i] === value) return; // a cycle
  queue.push(value);
}

/** Appends `node`'s cause and aggregated errors to `queue`, skipping ones already in it. */
export function enqueueChildren(node: object, queue: object[]): void {
  if (queue.length >= MAX_NODES) return;
  enqueueRead(queue, readCause(node), readErrorList(node, MAX_AGGREGATE));
}

/** Appends an already read cause and aggregated errors to `queue`. */
export function enqueueRead(queue: object[], cause: unknown, members: unknown[] | undefined): void {
  enqueue(queue, cause);
  if (members !== undefined) for (const member of members) enqueue(queue, member);
}

/** Every error in the failure, outermost first; a primitive failure is a chain of itself. */
export function collectChain(failure: unknown): unknown[] {
  if (!isObjectLike(failure)) return [failure];
  const queue: object[] = [failure];
  for (let i = 0; i < queue.length && queue.length < MAX_NODES; i++) enqueueChildren(queue[i]!, queue);
  return queue;
}
