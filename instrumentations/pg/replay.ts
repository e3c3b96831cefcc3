import { collectChain } from '../../src/classify/chain.js';
import { sqlstateOf } from '../../src/classify/pg.js';
import { isObjectLike, readCode, readMessage } from '../../src/classify/safe.js';
import type { ReplayDecision } from '../../src/engine/policy.js';
import { isConnectFailure } from '../connect-failure.js';
import { splitStatements, type SqlStatement } from './statements.js';

/**
 * Whether a failed pg statement may be sent again (design.md section 3).
 *
 * Inside an explicit transaction, never: the transaction belongs to the caller, who
 * must see the failure and decide (roll back, retry the whole transaction). Replaying
 * one statement of it, on the same connection or another, would either fail (the
 * transaction is aborted) or run it outside the transaction it was written for. So the
 * connection's transaction state is tracked (TransactionState), and any statement that
 * is sent while one is open, or that opens, ends or manages one itself, is
 * `in_transaction`.
 *
 * Outside one, a statement is replayed only when running it twice cannot happen:
 * - it never reached the server: the connection could not be made (refused, DNS, connect
 *   timeout, a pool's wait for a client timed out, the server refused the session with
 *   53300 too_many_connections or 57P03 cannot_connect_now), or the client refused it
 *   before writing (a pg Client that is closed or broken);
 * - the server rolled it back whole: 40001 serialization_failure, 40P01
 *   deadlock_detected or 55P03 lock_not_available on an atomic autocommit statement
 *   (one or more plain statements run in one implicit transaction; not CALL or DO, which
 *   may commit part of their work, nor CONCURRENTLY, which leaves an invalid index);
 * - or the caller marked it idempotent.
 * Anything else, above all a connection lost after the statement was written, is
 * ambiguous: it may have committed. It is sent once (`not_idempotent`).
 */

// ---------------------------------------------------------------------------------------
// Statement kinds

/** What one statement does to the connection's transaction. */
export type PgStatementKind =
  | 'plain'
  | 'non_atomic' // CALL, DO, ... CONCURRENTLY: may keep part of its work when it fails
  | 'begin'
  | 'commit'
  | 'commit_chain'
  | 'rollback'
  | 'rollback_chain'
  | 'rollback_to'
  | 'savepoint' // SAVEPOINT, RELEASE
  | 'prepare_transaction'
  | 'unknown'; // no SQL text to read

const ATOMIC_KINDS: ReadonlySet<PgStatementKind> = new Set(['plain']);
const NO_CONTROL_KINDS: ReadonlySet<PgStatementKind> = new Set(['plain', 'non_atomic']);

function andChain(words: readonly string[]): boolean {
  const and = words.indexOf('AND');
  return and >= 0 && words[and + 1] === 'CHAIN';
}

function kindOf(statement: SqlStatement): PgStatementKind {
  const w = statement.words;
  switch (w[0]) {
    case 'BEGIN':
      return 'begin';
    case 'START':
      return w[1] === 'TRANSACTION' ? 'begin' : 'plain';
    case 'COMMIT':
      if (w[1] === 'PREPARED') return 'plain'; // two-phase commit of another transaction
      return andChain(w) ? 'commit_chain' : 'commit';
    case 'END':
      return andChain(w) ? 'commit_chain' : 'commit';
    case 'ROLLBACK': {
      if (w[1] === 'PREPARED') return 'plain';
      const to = w[1] === 'WORK' || w[1] === 'TRANSACTION' ? w[2] : w[1];
      if (to === 'TO') return 'rollback_to';
      return andChain(w) ? 'rollback_chain' : 'rollback';
    }
    case 'ABORT':
      return andChain(w) ? 'rollback_chain' : 'rollback';
    case 'SAVEPOINT':
    case 'RELEASE':
      return 'savepoint';
    case 'PREPARE':
      return w[1] === 'TRANSACTION' ? 'prepare_transaction' : 'plain';
    case 'CALL':
    case 'DO':
      return 'non_atomic';
    default:
      return w.includes('CONCURRENTLY') ? 'non_atomic' : 'plain';
  }
}

/** What the replay decision and the tracker need to know about one query's SQL text. */
export interface PgStatement {
  /** The kind of each statement in the text, in order. */
  readonly kinds: readonly PgStatementKind[];
  /** The text opens, ends or manages a transaction (or could not be read). */
  readonly controlsTransaction: boolean;
  /** Outside a transaction the server runs it all or nothing: only plain statements. */
  readonly atomic: boolean;
}

const UNKNOWN: PgStatement = Object.freeze({ kinds: Object.freeze(['unknown'] as PgStatementKind[]), controlsTransaction: true, atomic: false });

/**
 * Reads the SQL text of one query (`client.query(text)`, or the `text` of a query config
 * or Submittable). A text that is not a string is `unknown`: treated as one that may
 * open a transaction, so it is never replayed and, until the server or a later COMMIT or
 * ROLLBACK says otherwise, the connection counts as in one. Never throws.
 */
export function pgStatement(text: unknown): PgStatement {
  if (typeof text !== 'string') return UNKNOWN;
  try {
    return pgStatementOf(splitStatements(text));
  } catch {
    return UNKNOWN;
  }
}

/** pgStatement() for a text already split (the adapter splits once for this and the span name). */
export function pgStatementOf(statements: readonly SqlStatement[]): PgStatement {
  const kinds = statements.map(kindOf);
  return {
    kinds,
    controlsTransaction: kinds.some((k) => !NO_CONTROL_KINDS.has(k)),
    atomic: kinds.every((k) => ATOMIC_KINDS.has(k)),
  };
}

/** What pgStatement() answers for a query whose SQL text cannot be read. */
export const UNKNOWN_STATEMENT: PgStatement = UNKNOWN;

// ---------------------------------------------------------------------------------------
// Transaction state of one connection

/** `idle`: no transaction; `open`: in one; `aborted`: in one that failed and awaits ROLLBACK. */
export type TransactionStatus = 'idle' | 'open' | 'aborted';

function afterSuccess(status: TransactionStatus, kind: PgStatementKind): TransactionStatus {
  switch (kind) {
    case 'plain':
    case 'non_atomic':
    case 'savepoint':
      return status;
    case 'begin':
    case 'unknown': // it may have been a BEGIN
      return status === 'idle' ? 'open' : status;
    case 'commit':
    case 'rollback':
    case 'prepare_transaction':
      return 'idle';
    case 'commit_chain':
    case 'rollback_chain':
    case 'rollback_to':
      return 'open';
  }
}

/**
 * A failure outside a transaction leaves none; inside one it leaves the transaction
 * aborted, awaiting ROLLBACK. A failed COMMIT or PREPARE TRANSACTION really ends it,
 * but a COMMIT rejected before it ran (a syntax error) does not, and the two cannot be
 * told apart from here: `aborted` is the answer that never lets a statement of a live
 * transaction be replayed. (Applications send ROLLBACK after a failed COMMIT anyway,
 * and the server's own status, when observed, settles it.)
 */
function afterFailure(status: TransactionStatus): TransactionStatus {
  return status === 'idle' ? 'idle' : 'aborted';
}

const IN_TRANSACTION_RANK: Readonly<Record<TransactionStatus, number>> = { idle: 0, open: 1, aborted: 2 };

/**
 * The status after a query of several statements failed: the server ran them in order
 * and stopped at the failing one, which may have been any of them, so every
 * possibility is played and the most cautious result kept (aborted, then open).
 */
function afterFailedQuery(status: TransactionStatus, kinds: readonly PgStatementKind[]): TransactionStatus {
  let worst: TransactionStatus = 'idle';
  let before = status;
  for (const kind of kinds) {
    const candidate = afterFailure(before);
    if (IN_TRANSACTION_RANK[candidate] > IN_TRANSACTION_RANK[worst]) worst = candidate;
    before = afterSuccess(before, kind);
  }
  if (kinds.length === 0) worst = afterFailure(status);
  return worst;
}

/** The transaction status letters of PostgreSQL's ReadyForQuery message. */
const SERVER_STATUS: Readonly<Record<string, TransactionStatus>> = { I: 'idle', T: 'open', E: 'aborted' };

/**
 * The transaction state of one pg connection (one per Client; a pooled client keeps its
 * own across checkouts). Feed it, in the order they happen:
 * - `send(statement)` as each query is handed to the connection: it answers whether the
 *   query belongs to a transaction (pass that to pgReplayDecision as `inTransaction`);
 * - `succeeded(statement)` or `failed(statement)` when its result arrives;
 * - `observe(client.getTransactionStatus())` after each result when the pg version has
 *   it (pg 8.x recent): the server's own ReadyForQuery status, which overrides what the
 *   statements suggested;
 * - `reset()` when the connection ends (the server rolls back whatever was open).
 *
 * Queries sent before earlier ones completed (pg's pipeline mode) are handled: while
 * any query that controls a transaction is still pending, every query counts as in one.
 */
export class TransactionState {
  private current: TransactionStatus = 'idle';
  private pendingControl = 0;

  get status(): TransactionStatus {
    return this.current;
  }

  get inTransaction(): boolean {
    return this.current !== 'idle' || this.pendingControl > 0;
  }

  /** Records that `statement` is being sent; true when it belongs to a transaction. */
  send(statement: PgStatement | string): boolean {
    const s = typeof statement === 'string' ? pgStatement(statement) : statement;
    const belongs = this.inTransaction || s.controlsTransaction;
    if (s.controlsTransaction) this.pendingControl++;
    return belongs;
  }

  succeeded(statement: PgStatement | string): void {
    const s = this.settle(statement);
    let status = this.current;
    for (const kind of s.kinds) status = afterSuccess(status, kind);
    this.current = status;
  }

  failed(statement: PgStatement | string): void {
    const s = this.settle(statement);
    this.current = afterFailedQuery(this.current, s.kinds);
  }

  /** The server's status (`'I'`, `'T'`, `'E'`); anything else is ignored. */
  observe(serverStatus: unknown): void {
    if (typeof serverStatus !== 'string') return;
    const status = SERVER_STATUS[serverStatus];
    if (status !== undefined) this.current = status;
  }

  reset(): void {
    this.current = 'idle';
    this.pendingControl = 0;
  }

  private settle(statement: PgStatement | string): PgStatement {
    const s = typeof statement === 'string' ? pgStatement(statement) : statement;
    if (s.controlsTransaction && this.pendingControl > 0) this.pendingControl--;
    return s;
  }
}

// ---------------------------------------------------------------------------------------
// The decision

/** SQLSTATEs the server sends only while starting a session: the statement never ran. */
const AT_CONNECT_SQLSTATES: ReadonlySet<string> = new Set([
  '53300', // too_many_connections
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
]);

/** SQLSTATEs for which the server rolled back the failing statement's whole transaction. */
const ROLLED_BACK_SQLSTATES: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (NOWAIT, lock_timeout)
]);

/**
 * Errors of pg and pg-pool themselves that are raised before the query is written
 * (pg/lib/client.js, pg-pool/index.js): a connect timeout, a pool that could not hand out
 * a client in time, a Client that is broken or closed.
 */
const NOT_SENT_MESSAGES: ReadonlySet<string> = new Set([
  'timeout expired', // Client connectionTimeoutMillis
  'Connection terminated due to connection timeout', // pg-pool: a new client's connect timed out
  'timeout exceeded when trying to connect', // pg-pool: no client free within connectionTimeoutMillis
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
]);

type Proof = 'none' | 'not_sent' | 'rolled_back';

function proofIn(failure: unknown): Proof {
  if (isConnectFailure(failure)) return 'not_sent';
  let proof: Proof = 'none';
  for (const node of collectChain(failure)) {
    if (!isObjectLike(node)) continue;
    const rawCode = readCode(node);
    const sqlstate = sqlstateOf(node, typeof rawCode === 'string' ? rawCode : undefined);
    if (sqlstate !== undefined) {
      if (AT_CONNECT_SQLSTATES.has(sqlstate)) return 'not_sent';
      if (ROLLED_BACK_SQLSTATES.has(sqlstate)) proof = 'rolled_back';
      continue;
    }
    const message = readMessage(node);
    if (typeof message === 'string' && NOT_SENT_MESSAGES.has(message)) return 'not_sent';
  }
  return proof;
}

export interface PgReplayInput {
  /** What the query threw or rejected with. */
  failure: unknown;
  /** TransactionState.send()'s answer for this query. */
  inTransaction: boolean;
  /** pgStatement(text).atomic; default false (the rollback proofs then do not apply). */
  atomic?: boolean;
  /**
   * Whether the query was written to the connection: false when the adapter knows it
   * was not (it failed while connecting or waiting for a pooled client); undefined when
   * it cannot tell, and the failure's shape decides.
   */
  sent?: boolean;
  /** The caller declared this statement safe to run twice. */
  markedIdempotent?: boolean;
}

/**
 * Whether a failed pg query may be sent again: `'in_transaction'` inside (or for) a
 * transaction, else true when it provably did not run or is marked idempotent, else
 * `'not_idempotent'`. Errors are recognised by shape (code, SQLSTATE, pg's messages),
 * never by instanceof. Never throws.
 */
export function pgReplayDecision(input: PgReplayInput): ReplayDecision {
  try {
    if (input.inTransaction !== false) return 'in_transaction';
    if (input.markedIdempotent === true || input.sent === false) return true;
    const proof = proofIn(input.failure);
    if (proof === 'not_sent') return true;
    if (proof === 'rolled_back' && input.atomic === true) return true;
    return 'not_idempotent';
  } catch {
    return 'not_idempotent';
  }
}
