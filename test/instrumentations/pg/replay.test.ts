import { expect } from 'chai';
import fc from 'fast-check';
import net from 'node:net';
import pg from 'pg';
import { pgReplayDecision, pgStatement, TransactionState, type TransactionStatus } from '../../../instrumentations/pg/replay.js';

const sysError = (code: string, syscall: string): Error => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
/** A server error as pg's DatabaseError carries it: SQLSTATE in `code`, with `severity`. */
const dbError = (code: string): Error => Object.assign(new Error(`server said ${code}`), { code, severity: 'ERROR', routine: 'x' });
const NOW = 'now';

describe('pg replay: reading statements', () => {
  const cases: Array<[string, unknown, { controls: boolean; atomic: boolean }]> = [
    ['a plain statement', 'INSERT INTO t VALUES (1)', { controls: false, atomic: true }],
    ['several plain statements (one implicit transaction)', 'INSERT INTO a VALUES (1); UPDATE b SET x = 1', { controls: false, atomic: true }],
    ['BEGIN', 'begin', { controls: true, atomic: false }],
    ['BEGIN ISOLATION LEVEL', 'BEGIN ISOLATION LEVEL SERIALIZABLE', { controls: true, atomic: false }],
    ['START TRANSACTION', '/* c */ START TRANSACTION READ ONLY', { controls: true, atomic: false }],
    ['START something else', 'START_REPLICATION', { controls: false, atomic: true }],
    ['COMMIT', 'COMMIT', { controls: true, atomic: false }],
    ['END', 'end transaction', { controls: true, atomic: false }],
    ['ROLLBACK', 'ROLLBACK', { controls: true, atomic: false }],
    ['ABORT', 'abort', { controls: true, atomic: false }],
    ['SAVEPOINT', 'SAVEPOINT a', { controls: true, atomic: false }],
    ['RELEASE', 'RELEASE SAVEPOINT a', { controls: true, atomic: false }],
    ['ROLLBACK TO', 'ROLLBACK TO SAVEPOINT a', { controls: true, atomic: false }],
    ['PREPARE TRANSACTION', "PREPARE TRANSACTION 'x'", { controls: true, atomic: false }],
    ['PREPARE (a prepared statement)', 'PREPARE q AS SELECT 1', { controls: false, atomic: true }],
    ['COMMIT PREPARED (another transaction)', "COMMIT PREPARED 'x'", { controls: false, atomic: true }],
    ['ROLLBACK PREPARED', "ROLLBACK PREPARED 'x'", { controls: false, atomic: true }],
    ['a transaction in one string', 'BEGIN; INSERT INTO t VALUES (1); COMMIT;', { controls: true, atomic: false }],
    ['CALL (may commit inside)', 'CALL p()', { controls: false, atomic: false }],
    ['DO', 'DO $$ BEGIN COMMIT; END $$', { controls: false, atomic: false }],
    ['CONCURRENTLY', 'CREATE INDEX CONCURRENTLY i ON t (a)', { controls: false, atomic: false }],
    ['a BEGIN in a string literal', "SELECT 'BEGIN'", { controls: false, atomic: true }],
    ['no text', undefined, { controls: true, atomic: false }],
    ['an empty text', '', { controls: false, atomic: true }],
  ];
  for (const [label, text, expected] of cases) {
    it(label, () => {
      const s = pgStatement(text);
      expect({ controls: s.controlsTransaction, atomic: s.atomic }).to.deep.equal(expected);
    });
  }
});

type Step = [text: string, outcome: 'ok' | 'fail', expected: TransactionStatus];

function play(steps: Step[]): void {
  const tx = new TransactionState();
  steps.forEach(([text, outcome, expected], i) => {
    tx.send(text);
    if (outcome === 'ok') tx.succeeded(text);
    else tx.failed(text);
    expect(tx.status, `after step ${i + 1}: ${text} (${outcome})`).to.equal(expected);
  });
}

describe('pg replay: TransactionState', () => {
  const scripts: Array<[string, Step[]]> = [
    ['autocommit statements stay idle, failing or not', [['INSERT INTO t VALUES (1)', 'ok', 'idle'], ['INSERT INTO t VALUES (1)', 'fail', 'idle']]],
    ['BEGIN ... COMMIT', [['BEGIN', 'ok', 'open'], ['INSERT INTO t VALUES (1)', 'ok', 'open'], ['COMMIT', 'ok', 'idle']]],
    ['a failure inside aborts until ROLLBACK', [['BEGIN', 'ok', 'open'], ['INSERT', 'fail', 'aborted'], ['SELECT 1', 'fail', 'aborted'], ['ROLLBACK', 'ok', 'idle']]],
    ['COMMIT of an aborted transaction ends it', [['BEGIN', 'ok', 'open'], ['INSERT', 'fail', 'aborted'], ['COMMIT', 'ok', 'idle']]],
    ['a failed COMMIT is treated as aborted (cautious) until ROLLBACK', [['BEGIN', 'ok', 'open'], ['COMMIT', 'fail', 'aborted'], ['ROLLBACK', 'ok', 'idle']]],
    ['ROLLBACK TO a savepoint reopens', [['BEGIN', 'ok', 'open'], ['SAVEPOINT a', 'ok', 'open'], ['INSERT', 'fail', 'aborted'], ['ROLLBACK TO SAVEPOINT a', 'ok', 'open'], ['RELEASE a', 'ok', 'open'], ['END', 'ok', 'idle']]],
    ['COMMIT AND CHAIN stays open; AND NO CHAIN ends', [['START TRANSACTION', 'ok', 'open'], ['COMMIT AND CHAIN', 'ok', 'open'], ['ROLLBACK AND NO CHAIN', 'ok', 'idle']]],
    ['PREPARE TRANSACTION ends the session transaction', [['BEGIN', 'ok', 'open'], ["PREPARE TRANSACTION 'x'", 'ok', 'idle'], ["COMMIT PREPARED 'x'", 'ok', 'idle']]],
    ['ABORT', [['BEGIN', 'ok', 'open'], ['ABORT', 'ok', 'idle']]],
    ['a failed BEGIN outside a transaction leaves none', [['BEGIN ISOLATION LEVEL NONSENSE', 'fail', 'idle']]],
    ['one string: BEGIN; INSERT', [['BEGIN; INSERT INTO t VALUES (1)', 'ok', 'open'], ['COMMIT', 'ok', 'idle']]],
    ['one string: a whole transaction', [['BEGIN; INSERT INTO t VALUES (1); COMMIT', 'ok', 'idle']]],
    ['one string failing: it may have stopped inside the transaction', [['BEGIN; INSERT INTO t VALUES (1); COMMIT', 'fail', 'aborted'], ['ROLLBACK', 'ok', 'idle']]],
    ['one string of plain statements failing: idle', [['INSERT INTO a VALUES (1); INSERT INTO b VALUES (1)', 'fail', 'idle']]],
  ];
  for (const [label, steps] of scripts) it(label, () => play(steps));

  it('send() says whether a query belongs to a transaction', () => {
    const tx = new TransactionState();
    expect(tx.send('SELECT 1')).to.equal(false);
    tx.succeeded('SELECT 1');
    expect(tx.send('BEGIN')).to.equal(true); // it opens one
    tx.succeeded('BEGIN');
    expect(tx.send('SELECT 1')).to.equal(true);
    tx.succeeded('SELECT 1');
    expect(tx.send('COMMIT')).to.equal(true); // it ends one
    tx.succeeded('COMMIT');
    expect(tx.send('SELECT 1')).to.equal(false);
    expect(tx.send(pgStatement(undefined))).to.equal(true);
  });

  it('pipelined queries: while a BEGIN is pending, everything sent counts as in a transaction', () => {
    const tx = new TransactionState();
    const sent = ['BEGIN', 'INSERT INTO t VALUES (1)', 'COMMIT', 'SELECT 1'].map((q) => tx.send(q));
    expect(sent).to.deep.equal([true, true, true, true]);
    tx.succeeded('BEGIN');
    tx.failed('INSERT INTO t VALUES (1)');
    expect(tx.status).to.equal('aborted');
    tx.succeeded('COMMIT');
    tx.succeeded('SELECT 1');
    expect(tx.status).to.equal('idle');
    expect(tx.inTransaction).to.equal(false);
    expect(tx.send('SELECT 2')).to.equal(false);
  });

  it('a query with no text counts as one that may have opened a transaction', () => {
    const tx = new TransactionState();
    const unknown = pgStatement({ name: 'cursor' });
    expect(tx.send(unknown)).to.equal(true);
    tx.succeeded(unknown);
    expect(tx.status).to.equal('open');
    tx.send('COMMIT');
    tx.succeeded('COMMIT');
    expect(tx.status).to.equal('idle');
  });

  it("the server's ReadyForQuery status overrides; reset() forgets", () => {
    const tx = new TransactionState();
    tx.send('SELECT begin_something()');
    tx.succeeded('SELECT begin_something()');
    tx.observe('T');
    expect(tx.status).to.equal('open');
    tx.observe('E');
    expect(tx.status).to.equal('aborted');
    tx.observe('I');
    expect(tx.status).to.equal('idle');
    tx.observe('?');
    tx.observe(null);
    expect(tx.status).to.equal('idle');
    tx.send('BEGIN');
    tx.reset();
    expect(tx.inTransaction).to.equal(false);
  });

  /*
   * Model check against PostgreSQL's rules: the server's state machine, where a failed
   * COMMIT may either have ended the transaction (it failed while committing) or not (it
   * was rejected before running), and where nothing but ROLLBACK, COMMIT, ROLLBACK TO
   * and PREPARE TRANSACTION succeeds in an aborted transaction. Whatever happens, the
   * tracker must never believe "no transaction" while the server is in one.
   */
  const STATEMENTS = ['BEGIN', 'START TRANSACTION', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT a', 'RELEASE a', 'ROLLBACK TO a', "PREPARE TRANSACTION 'p'", 'COMMIT AND CHAIN', 'INSERT INTO t VALUES (1)', 'SELECT 1'];
  function server(state: TransactionStatus, text: string, wantFail: boolean, failedWhileCommitting: boolean): [TransactionStatus, boolean] {
    const k = text.split(' ')[0]!;
    const ends = k === 'COMMIT' || k === 'END' || k === 'ROLLBACK' || k === 'ABORT' || k === 'PREPARE';
    const inTx = state !== 'idle';
    let fail = wantFail;
    if (state === 'aborted' && !ends) fail = true; // 25P02
    if (!inTx && (k === 'SAVEPOINT' || k === 'RELEASE' || text.startsWith('ROLLBACK TO') || text === 'COMMIT AND CHAIN')) fail = true;
    if (fail) {
      if (!inTx) return ['idle', true];
      if ((k === 'COMMIT' || k === 'END' || k === 'PREPARE') && text !== 'COMMIT AND CHAIN' && failedWhileCommitting) return ['idle', true];
      return ['aborted', true];
    }
    if (k === 'BEGIN' || k === 'START') return [inTx ? state : 'open', false];
    if (text === 'COMMIT AND CHAIN' || text.startsWith('ROLLBACK TO')) return ['open', false];
    if (ends) return ['idle', false];
    return [state, false];
  }

  it('property: never believes there is no transaction while the server is in one', () => {
    const step = fc.tuple(fc.integer({ min: 0, max: STATEMENTS.length - 1 }), fc.boolean(), fc.boolean(), fc.boolean());
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const tx = new TransactionState();
        let state: TransactionStatus = 'idle';
        for (const [i, wantFail, committing, observe] of steps) {
          const text = STATEMENTS[i]!;
          const belongs = tx.send(text);
          if (state !== 'idle') expect(belongs, text).to.equal(true);
          const [next, failed] = server(state, text, wantFail, committing);
          state = next;
          if (failed) tx.failed(text);
          else tx.succeeded(text);
          if (observe) tx.observe({ idle: 'I', open: 'T', aborted: 'E' }[state]);
          if (state !== 'idle') expect(tx.inTransaction, `${text} -> ${state}`).to.equal(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('pg replay: the decision', () => {
  const cases: Array<[string, Parameters<typeof pgReplayDecision>[0], true | 'not_idempotent' | 'in_transaction']> = [
    ['inside a transaction: never, even if it never ran', { failure: sysError('ECONNREFUSED', 'connect'), inTransaction: true, sent: false, markedIdempotent: true }, 'in_transaction'],
    ['connection refused', { failure: sysError('ECONNREFUSED', 'connect'), inTransaction: false }, true],
    ['DNS failure', { failure: sysError('ENOTFOUND', 'getaddrinfo'), inTransaction: false }, true],
    ['the adapter knows it was never written', { failure: new Error('whatever'), inTransaction: false, sent: false }, true],
    ['53300 too_many_connections at connect', { failure: dbError('53300'), inTransaction: false }, true],
    ['57P03 cannot_connect_now', { failure: dbError('57P03'), inTransaction: false }, true],
    ["pg's connect timeout", { failure: new Error('timeout expired'), inTransaction: false }, true],
    ["pg-pool's wait for a client", { failure: new Error('timeout exceeded when trying to connect'), inTransaction: false }, true],
    ["pg-pool's connect timeout (with its cause)", { failure: new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') }), inTransaction: false }, true],
    ['a broken Client refuses before writing', { failure: new Error('Client has encountered a connection error and is not queryable'), inTransaction: false }, true],
    ['40001 on an atomic autocommit statement', { failure: dbError('40001'), inTransaction: false, atomic: true }, true],
    ['40P01 on an atomic autocommit statement', { failure: dbError('40P01'), inTransaction: false, atomic: true }, true],
    ['55P03 on an atomic autocommit statement', { failure: dbError('55P03'), inTransaction: false, atomic: true }, true],
    ['40001 on a CALL (may have committed part)', { failure: dbError('40001'), inTransaction: false, atomic: false }, 'not_idempotent'],
    ['40001 without saying the statement is atomic', { failure: dbError('40001'), inTransaction: false }, 'not_idempotent'],
    ['connection lost after sending', { failure: new Error('Connection terminated unexpectedly'), inTransaction: false, sent: true }, 'not_idempotent'],
    ['connection reset after sending', { failure: sysError('ECONNRESET', 'read'), inTransaction: false }, 'not_idempotent'],
    ['connection lost, marked idempotent', { failure: new Error('Connection terminated unexpectedly'), inTransaction: false, markedIdempotent: true }, true],
    ['query read timeout', { failure: new Error('Query read timeout'), inTransaction: false, atomic: true }, 'not_idempotent'],
    ['statement timeout 57014', { failure: dbError('57014'), inTransaction: false, atomic: true }, 'not_idempotent'],
    ['admin shutdown 57P01 while running', { failure: dbError('57P01'), inTransaction: false, atomic: true }, 'not_idempotent'],
    ['a unique violation', { failure: dbError('23505'), inTransaction: false }, 'not_idempotent'],
    ['a hand-built { code: "40001" } counts', { failure: { code: '40001' }, inTransaction: false, atomic: true }, true],
    ['a wrapped 40001', { failure: new Error('query failed', { cause: dbError('40001') }), inTransaction: false, atomic: true }, true],
    ['inTransaction missing: cautious', { failure: sysError('ECONNREFUSED', 'connect') } as never, 'in_transaction'],
  ];
  for (const [label, input, expected] of cases) it(`${label}: ${String(expected)}`, () => expect(pgReplayDecision(input)).to.equal(expected));

  it('property: inside a transaction the answer is always in_transaction', () => {
    fc.assert(
      fc.property(fc.anything(), fc.option(fc.boolean(), { nil: undefined }), fc.option(fc.boolean(), { nil: undefined }), fc.option(fc.boolean(), { nil: undefined }), (failure, atomic, sent, marked) => {
        expect(pgReplayDecision({ failure, inTransaction: true, atomic, sent, markedIdempotent: marked })).to.equal('in_transaction');
      }),
    );
  });

  it('property: never throws; an unrecognised failure after sending is never replayed unless marked', () => {
    fc.assert(
      fc.property(fc.anything(), fc.boolean(), (failure, atomic) => {
        const decision = pgReplayDecision({ failure, inTransaction: false, atomic, sent: true });
        expect([true, 'not_idempotent']).to.include(decision);
        if (typeof failure !== 'object' || failure === null) expect(decision).to.equal('not_idempotent');
      }),
    );
  });

  it("pg's real errors: a refused connection, and a connect timeout through pg-pool", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await new pg.Client({ host: '127.0.0.1', port: closedPort }).connect().then(() => NOW, (e: unknown) => e);
    expect(pgReplayDecision({ failure: refused, inTransaction: false })).to.equal(true);

    // A server that accepts and never answers: the startup times out.
    const sockets = new Set<net.Socket>();
    const blackhole = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const port = (blackhole.address() as net.AddressInfo).port;
    const pool = new pg.Pool({ host: '127.0.0.1', port, connectionTimeoutMillis: 50 });
    try {
      const timedOut = await pool.query('INSERT INTO t VALUES (1)').then(() => NOW, (e: unknown) => e);
      expect(timedOut).to.be.instanceOf(Error);
      expect(pgReplayDecision({ failure: timedOut, inTransaction: false })).to.equal(true);
    } finally {
      await pool.end();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    }
  });
});
