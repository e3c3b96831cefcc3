import { context, SpanKind } from '@opentelemetry/api';
import type { Attempt } from '../../src/engine/attempt.js';
import type { ReplayDecision } from '../../src/engine/policy.js';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { attemptSpanKind, callOriginal } from '../kit/calls.js';
import { cancelAbandonedQuery, sendAndFindQuery, type CancellableClient } from './cancel.js';
import { deliver } from './deliver.js';
import type { QueryCall, QueryCallback } from './query-args.js';
import { pgReplayDecision, type PgStatement, type TransactionState } from './replay.js';
import { settleQuery, transactionStateOf, type TrackedClient } from './transactions.js';
import { annotatePgFailure, attemptSpanOf, attemptSpanOptions, describeQuery, endpointOf, isSubmittable, queryTextOf, type PgEndpoint } from './utils.js';

export type QueryMethod = (this: unknown, ...args: unknown[]) => unknown;

/** What the adapter reads of a pg Client (pg 8). */
export interface PgClientLike extends TrackedClient, CancellableClient {
  readonly connectionParameters?: unknown;
  readonly _Promise?: unknown;
  readonly _queryable?: unknown;
  readonly _ending?: unknown;
  readonly _ended?: unknown;
  readonly _connectionError?: unknown;
}

const endpoints = new WeakMap<object, PgEndpoint>();

/** A Client's target and span attributes, read once: its connection parameters are fixed at construction. */
export function clientEndpoint(client: PgClientLike): PgEndpoint {
  let endpoint = endpoints.get(client);
  if (endpoint === undefined) {
    endpoint = endpointOf(client.connectionParameters ?? client);
    endpoints.set(client, endpoint);
  }
  return endpoint;
}

/**
 * Whether the Client can still send a query. pg Clients never reconnect: once the
 * connection failed or ended, every query fails at once ("not queryable") or, if the
 * connection died while connecting, waits forever in the queue. A retry there can only
 * fail and would replace the caller's real error, so none is made.
 */
function canSendAgain(client: PgClientLike): boolean {
  return client._queryable !== false && client._ending !== true && client._ended !== true && client._connectionError !== true;
}

/**
 * A query sent as it is (tracing suppressed: inside one of breakwater's attempts, such
 * as a `Pool.query` attempt's own `client.query`, or the SDK's export), or a Submittable.
 * Its statement still feeds the client's transaction tracker, so a BEGIN sent this way
 * is known to the next managed query.
 */
export function passThroughQuery(client: PgClientLike, original: QueryMethod, args: unknown[]): unknown {
  let callArgs = args;
  let settle: ((failed: boolean) => void) | undefined;
  try {
    const [config, values, callback] = args;
    if (config !== null && config !== undefined && typeof client === 'object' && client !== null) {
      const statement = describeQuery(queryTextOf(config)).statement;
      const state = transactionStateOf(client);
      state.send(statement);
      let settled = false;
      const settleOnce = (failed: boolean): void => {
        if (settled) return;
        settled = true;
        settleQuery(client, state, statement, failed);
      };
      settle = settleOnce;
      if (isSubmittable(config)) {
        hookSubmittable(config as SubmittableLike, settleOnce);
      } else {
        const callbackIndex = callback ? 2 : typeof values === 'function' ? 1 : -1;
        if (callbackIndex >= 0 && typeof args[callbackIndex] === 'function') {
          const userCallback = args[callbackIndex] as QueryCallback;
          callArgs = args.slice();
          callArgs[callbackIndex] = function (this: unknown, error: unknown, result?: unknown) {
            settleOnce(error !== null && error !== undefined);
            return userCallback.call(this, error, result);
          };
        }
      }
    }
  } catch {
    callArgs = args;
    settle = undefined;
  }
  let returned: unknown;
  try {
    returned = original.apply(client, callArgs);
  } catch (error) {
    settle?.(true);
    throw error;
  }
  if (settle !== undefined && callArgs === args && isThenable(returned)) {
    const done = settle;
    // A derived promise, not a handler on pg's: the caller's unhandled rejection stays one.
    return returned.then(
      (result) => {
        done(false);
        return result;
      },
      (error: unknown) => {
        done(true);
        throw error;
      },
    );
  }
  return returned;
}

interface SubmittableLike {
  handleReadyForQuery?: (...args: unknown[]) => unknown;
  handleError?: (...args: unknown[]) => unknown;
}

/**
 * pg ends every Submittable it runs with `handleReadyForQuery` (success) or `handleError`
 * (a server error or a dead connection; pg calls nothing after it): the instance's two
 * methods are wrapped to learn when it is done. Events are not used: listening to
 * 'error' would change what an unhandled error does.
 */
function hookSubmittable(submittable: SubmittableLike, settle: (failed: boolean) => void): void {
  try {
    const onReady = submittable.handleReadyForQuery;
    const onError = submittable.handleError;
    if (typeof onReady === 'function') {
      submittable.handleReadyForQuery = function (this: unknown, ...args: unknown[]) {
        settle(false);
        return onReady.apply(this, args);
      };
    }
    if (typeof onError === 'function') {
      submittable.handleError = function (this: unknown, ...args: unknown[]) {
        settle(true);
        return onError.apply(this, args);
      };
    }
  } catch {
    // a frozen Submittable: its statement stays pending in the tracker (more careful, never less)
  }
}

function isThenable(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * One `client.query()` as a logical call under the target's policy. Each attempt sends
 * the query again on the same Client (pg's promise form, with tracing suppressed so an
 * official pg instrumentation inside records nothing) and feeds the transaction
 * tracker; a failed attempt is replayed only when pgReplayDecision says so for the
 * connection's state at the moment it was sent.
 *
 * An attempt that times out (or whose caller aborts) rejects the caller and its query is
 * cancelled on the server (cancel.ts), so the Client's later queries do not queue behind
 * a statement nobody waits for; the connection and its transaction stay open.
 *
 * `wrappedByOther`: another instrumentation's wrapper runs before this one and records
 * its own CLIENT span for the call, so the attempt spans are INTERNAL.
 * `innerRecordsDuration`: one runs inside each attempt and records its duration point.
 */
export function managedClientQuery(
  runtime: Runtime,
  client: PgClientLike,
  original: QueryMethod,
  call: QueryCall,
  wrappedByOther = false,
  innerRecordsDuration = false,
): unknown {
  let callerContext, statement: PgStatement, endpoint, state: TransactionState, markedIdempotent: boolean, attemptSpan;
  try {
    callerContext = context.active();
    const description = describeQuery(queryTextOf(call.config));
    statement = description.statement;
    endpoint = clientEndpoint(client);
    state = transactionStateOf(client);
    markedIdempotent = idempotencyMark() === true;
    // Nothing reads the span options without an SDK: they are built only with one.
    if (runtime.telemetryActive()) {
      const kind = wrappedByOther ? SpanKind.INTERNAL : attemptSpanKind(callerContext);
      attemptSpan = attemptSpanOptions(attemptSpanOf(endpoint, description.operation), call.config, kind, innerRecordsDuration);
    }
  } catch {
    // Set-up only (pg not called yet): the call goes to pg as it is.
    return original.call(client, call.config, call.values, call.callback);
  }
  let inTransaction = true;

  const outcome = runtime.execute(
    (attempt: Attempt) => {
      inTransaction = state.send(statement);
      let pending: unknown;
      let query: object | undefined;
      try {
        ({ result: pending, query } = sendAndFindQuery(client, () => callOriginal(() => original.call(client, call.config, call.values))));
      } catch (error) {
        settleQuery(client, state, statement, true);
        throw error;
      }
      const onAbort = (reason: unknown): void => cancelAbandonedQuery(client, query, reason);
      attempt.onAbort(onAbort);
      return (pending as Promise<unknown>).then(
        (result) => {
          attempt.offAbort(onAbort);
          settleQuery(client, state, statement, false);
          return result;
        },
        (error: unknown) => {
          attempt.offAbort(onAbort);
          settleQuery(client, state, statement, true);
          annotatePgFailure(attempt, error);
          throw error;
        },
      );
    },
    {
      target: endpoint.target,
      client: 'pg',
      canReplay: (failure): ReplayDecision => {
        const decision = pgReplayDecision({ failure, inTransaction, atomic: statement.atomic, markedIdempotent });
        return decision === true && !canSendAgain(client) ? 'not_idempotent' : decision;
      },
      attemptSpan,
    },
  );
  return deliver(outcome, call.callback, callerContext, client._Promise);
}
