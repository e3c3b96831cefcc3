import { TransactionState, type PgStatement } from './replay.js';

/** What the tracker reads of a pg Client. */
export interface TrackedClient {
  readonly pipeline?: unknown;
  getTransactionStatus?: () => unknown;
}

/**
 * One TransactionState per pg Client (a pooled client keeps its own across checkouts),
 * held weakly: a client the application drops takes its state with it.
 */
const states = new WeakMap<object, TransactionState>();

export function transactionStateOf(client: object): TransactionState {
  let state = states.get(client);
  if (state === undefined) {
    state = new TransactionState();
    states.set(client, state);
  }
  return state;
}

/**
 * Records a query's result in its client's tracker. After a success in ordinary mode,
 * pg's `getTransactionStatus()` holds the status the server sent with this query's
 * ReadyForQuery (the next query is written only after it), which settles any guess.
 * Not after a failure: pg reports an error as soon as the ErrorResponse arrives, before
 * its ReadyForQuery, so the status is the previous query's. In pipeline mode later
 * results may already have arrived, so there the statements alone decide.
 */
export function settleQuery(client: TrackedClient, state: TransactionState, statement: PgStatement, failed: boolean): void {
  try {
    if (failed) {
      state.failed(statement);
      return;
    }
    state.succeeded(statement);
    if (client.pipeline !== true && typeof client.getTransactionStatus === 'function') state.observe(client.getTransactionStatus());
  } catch {
    // bookkeeping must never fail the caller's query
  }
}
