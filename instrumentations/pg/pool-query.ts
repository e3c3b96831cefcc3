import { context } from '@opentelemetry/api';
import type { Attempt } from '../../src/engine/attempt.js';
import { idempotencyMark } from '../../src/runtime/idempotency.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { attemptSpanKind, callOriginal } from '../kit/calls.js';
import { HEDGE_CANCELLED_CODE } from '../../src/errors.js';
import { cancelledByRequest, sendCancelRequest, type CancellableClient } from './cancel.js';
import { deliver } from './deliver.js';
import type { QueryCall } from './query-args.js';
import { isReadOnlyQuery } from './read-only.js';
import { pgReplayDecision, type PgStatement } from './replay.js';
import { transactionStateOf } from './transactions.js';
import { annotatePgFailure, attemptSpanOf, attemptSpanOptions, describeQuery, endpointOf, queryTextOf, type PgEndpoint } from './utils.js';

/** What the adapter uses of a pg-pool Pool. */
export interface PgPoolLike {
  readonly options?: unknown;
  readonly Promise?: unknown;
  connect(): PromiseLike<PooledClient>;
}

/** A client checked out of a pg-pool Pool. */
interface PooledClient extends CancellableClient {
  query(config: unknown, values?: unknown): PromiseLike<unknown>;
  release(error?: unknown): void;
  once(event: 'error', listener: (error: unknown) => void): unknown;
  removeListener(event: 'error', listener: (error: unknown) => void): unknown;
}

const endpoints = new WeakMap<object, PgEndpoint>();

function poolEndpoint(pool: PgPoolLike): PgEndpoint {
  let endpoint = endpoints.get(pool);
  if (endpoint === undefined) {
    endpoint = endpointOf(pool.options);
    endpoints.set(pool, endpoint);
  }
  return endpoint;
}

/** Why a client is dropped from the pool when breakwater gave up waiting for its query. */
export const ABANDONED_MESSAGE = 'breakwater: the attempt timed out while this client ran a query; the connection is discarded';

/** Where one attempt stood when it failed: what pgReplayDecision needs. */
interface AttemptFacts {
  /** false until the query was handed to a client: a failed checkout wrote nothing. */
  sent: boolean | undefined;
  inTransaction: boolean;
}

/**
 * One `pool.query()` as a logical call. Each attempt does what pg-pool's own query does:
 * check a client out (`pool.connect()`), run the query on it, release it (with the error
 * when the query failed, so the pool discards the client, as pg-pool does). A failed
 * checkout (refused, timed out, too many connections) is an attempt like any other, with
 * its own span, and may always be retried: nothing was written.
 *
 * The attempt's `client.query` runs with tracing suppressed, so it reaches breakwater's
 * Client wrapper as a pass-through (its statement still feeds that client's transaction
 * tracker) and an official pg instrumentation records nothing for it.
 *
 * When the attempt times out (or its caller aborts) while the query runs, the statement
 * gets a cancel request (cancel.ts: the server would otherwise run it to its end, as it
 * does not notice a closed connection while it computes) and the client is released with
 * an error: the pool closes that connection instead of lending it to the next caller. The
 * statement may have run: it is replayed only when marked idempotent.
 *
 * `innerRecordsDuration`: the Client's `query` carries an OpenTelemetry instrumentation
 * (the official pg one) that records each attempt's duration point itself.
 */
export function managedPoolQuery(
  runtime: Runtime,
  pool: PgPoolLike,
  original: (...args: unknown[]) => unknown,
  call: QueryCall,
  innerRecordsDuration = false,
): unknown {
  let callerContext, statement: PgStatement, endpoint, markedIdempotent: boolean, markedUnsafe: boolean, text: unknown, attemptSpan;
  try {
    callerContext = context.active();
    text = queryTextOf(call.config);
    const description = describeQuery(text);
    statement = description.statement;
    endpoint = poolEndpoint(pool);
    const mark = idempotencyMark();
    markedIdempotent = mark === true;
    markedUnsafe = mark === false;
    // Nothing reads the span options without an SDK: they are built only with one.
    if (runtime.telemetryActive()) attemptSpan = attemptSpanOptions(attemptSpanOf(endpoint, description.operation), call.config, attemptSpanKind(callerContext), innerRecordsDuration);
  } catch {
    // Set-up only (pg-pool not called yet): the call goes to pg-pool as it is.
    return original.call(pool, call.config, call.values, call.callback);
  }
  let facts: AttemptFacts = { sent: false, inTransaction: false };

  const outcome = runtime.execute(
    async (attempt: Attempt) => {
      const current: AttemptFacts = { sent: false, inTransaction: false };
      facts = current;
      try {
        const client = await checkOut(pool, attempt);
        // A client released while its connection was inside a transaction (an application
        // bug pg-pool does not catch) would run this query inside it.
        current.inTransaction = transactionStateOf(client).inTransaction || statement.controlsTransaction;
        current.sent = undefined;
        return await runOnClient(client, call, attempt);
      } catch (error) {
        annotatePgFailure(attempt, error); // a checkout refused with 53300 has a SQLSTATE too
        throw error;
      }
    },
    {
      target: endpoint.target,
      client: 'pg',
      canReplay: (failure) => pgReplayDecision({ failure, inTransaction: facts.inTransaction, atomic: statement.atomic, sent: facts.sent, markedIdempotent }),
      // Asked only when a hedge is due, so the statement is read no more than that. Each
      // attempt checks out its own connection: the backup never queues behind the stall.
      hedgeable: () => !markedUnsafe && !facts.inTransaction && isReadOnlyQuery(typeof text === 'string' ? text : undefined),
      attemptSpan,
    },
  );
  return deliver(outcome, call.callback, callerContext, pool.Promise);
}

/** `pool.connect()`, given up at the attempt's end; a client that arrives later goes back to the pool unused. */
function checkOut(pool: PgPoolLike, attempt: Attempt): Promise<PooledClient> {
  return new Promise<PooledClient>((resolve, reject) => {
    let done = false;
    const onAbort = (reason: unknown): void => {
      done = true;
      reject(reason);
    };
    let pending: PromiseLike<PooledClient>;
    try {
      pending = callOriginal(() => pool.connect());
    } catch (error) {
      reject(error);
      return;
    }
    attempt.onAbort(onAbort);
    pending.then(
      (client) => {
        attempt.offAbort(onAbort);
        if (done) {
          client.release();
          return;
        }
        done = true;
        resolve(client);
      },
      (error: unknown) => {
        attempt.offAbort(onAbort);
        if (done) return;
        done = true;
        reject(error);
      },
    );
  });
}

/** The abort reason of an attempt that lost a hedged race (src/errors.ts HedgeCancelledError). */
function lostHedgeRace(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && (reason as { code?: unknown }).code === HEDGE_CANCELLED_CODE;
}

/**
 * The query on a checked-out client, and its release exactly once (pg-pool throws on a
 * second). An attempt that timed out (or whose caller aborted) has its statement
 * cancelled and its connection discarded. An attempt that lost a hedged race keeps its
 * connection when that is safe: its statement is cancelled, and the client goes back to
 * the pool once the statement is over and the cancel request is known to be spent (not
 * sent, or the statement failed with it), so no later statement on that backend can be
 * hit by it; otherwise the connection is discarded. Closing it every time would make
 * every hedge cost a new connection (measured: it undid what hedging gained,
 * BENCHMARKS.md).
 */
function runOnClient(client: PooledClient, call: QueryCall, attempt: Attempt): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    let released = false;
    /** Lost a hedged race: the outcome is no longer the caller's, only the connection's. */
    let draining = false;
    const release = (error?: unknown): boolean => {
      if (released) return false;
      released = true;
      client.removeListener('error', onClientError);
      attempt.offAbort(onAbort);
      try {
        client.release(error);
      } catch {
        // pg-pool's own release failing must not turn into the caller's error
      }
      return true;
    };
    // A checked-out client has no 'error' listener of the pool's: without this one, a
    // connection error while the query runs would be an unhandled 'error' event.
    const onClientError = (error: unknown): void => {
      if (release(error) && !draining) reject(error);
    };
    let queryOver = false;
    let queryError: unknown;
    /** undefined until the cancel connection is over; then whether a request was written. */
    let cancelSent: boolean | undefined;
    const drained = (): void => {
      if (!queryOver || cancelSent === undefined) return;
      // Reused only when no request can still reach the backend: none was written, or
      // the statement failed with it (the signal is spent). Otherwise a late signal
      // could cancel whatever statement the pool runs there next: discard it.
      const reusable = cancelSent ? cancelledByRequest(queryError) : queryError === undefined;
      release(reusable ? undefined : (queryError ?? new Error(ABANDONED_MESSAGE)));
    };
    const onAbort = (reason: unknown): void => {
      if (released) return;
      if (lostHedgeRace(reason) && client.pipeline !== true) {
        draining = true;
        sendCancelRequest(client, () => !queryOver, (sent) => {
          cancelSent = sent;
          drained();
        });
        reject(reason);
        return;
      }
      // The connection is discarded, so no later statement can share its backend: the cancel needs no re-check.
      sendCancelRequest(client);
      if (release(new Error(ABANDONED_MESSAGE))) reject(reason);
    };
    client.once('error', onClientError);
    attempt.onAbort(onAbort);
    let pending: PromiseLike<unknown>;
    try {
      pending = callOriginal(() => client.query(call.config, call.values));
    } catch (error) {
      release(error);
      reject(error);
      return;
    }
    pending.then(
      (result) => {
        queryOver = true;
        if (draining) drained();
        else if (release()) resolve(result);
      },
      (error: unknown) => {
        queryOver = true;
        queryError = error;
        if (draining) drained();
        else if (release(error)) reject(error);
      },
    );
  });
}
