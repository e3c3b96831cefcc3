import { expect } from 'chai';
import fc from 'fast-check';
import { isReadOnlyQuery, READ_ONLY_MAX_LENGTH } from '../../../instrumentations/pg/read-only.js';

type Case = [label: string, text: string | undefined, expected: boolean];

function check(cases: Case[]): void {
  for (const [label, text, expected] of cases) {
    it(`${label}: ${JSON.stringify(text)} -> ${expected}`, () => expect(isReadOnlyQuery(text)).to.equal(expected));
  }
}

/** The ways a piece of text can stand in a statement without being SQL. */
const hiders: Array<[string, (s: string) => string]> = [
  ['a string literal', (s) => `SELECT '${s.replaceAll("'", "''")}'`],
  ["an E'' string", (s) => `SELECT E'\\'${s.replaceAll("'", "\\'")}'`],
  ['a dollar quote', (s) => `SELECT $$${s}$$`],
  ['a tagged dollar quote', (s) => `SELECT $q$ ${s} $q$`],
  ['a line comment', (s) => `SELECT 1 -- ${s.replaceAll('\n', ' ')}\nFROM t`],
  ['a block comment', (s) => `SELECT 1 /* ${s.replaceAll('*/', '')} */ FROM t`],
  ['a quoted identifier', (s) => `SELECT "${s.replaceAll('"', '""')}" FROM t`],
];

/** Every rule's forbidden text, as a whole statement that says it in plain SQL. */
const forbidden: Array<[string, string, string]> = [
  ['INTO', 'into new_table', 'SELECT * INTO new_table FROM t'],
  ['FOR UPDATE', 'for update', 'SELECT * FROM t FOR UPDATE'],
  ['FOR NO KEY UPDATE', 'FOR NO KEY UPDATE', 'SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED'],
  ['FOR SHARE', 'for share', 'SELECT * FROM t WHERE id = $1 FOR SHARE'],
  ['FOR KEY SHARE', 'for key share', 'SELECT * FROM t FOR KEY SHARE OF t NOWAIT'],
  ['INSERT', 'insert into t values (1)', 'WITH a AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM a'],
  ['UPDATE', 'update t set a = 1', 'WITH a AS (UPDATE t SET a = 1 RETURNING id) SELECT * FROM a'],
  ['DELETE', 'delete from t', 'WITH a AS (DELETE FROM t RETURNING *) SELECT * FROM a'],
  ['MERGE', 'merge into t using s on true', 'WITH a AS (MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE RETURNING t.*) SELECT * FROM a'],
  ['COPY', 'copy t to stdout', 'SELECT 1 FROM t WHERE copy'],
  ['CALL', 'call p()', 'SELECT call FROM t'],
  ['DO', "do 'begin null; end'", 'SELECT 1 DO'],
  ['LOCK', 'lock table t', 'SELECT lock FROM t'],
  ['nextval', "nextval('s')", "SELECT nextval('s')"],
  ['setval', "setval('s', 1)", "SELECT setval('s', 1)"],
  ['pg_advisory_lock', 'pg_advisory_lock(1)', 'SELECT pg_advisory_lock(1)'],
  ['pg_advisory_xact_lock_shared', 'pg_advisory_xact_lock_shared(1)', 'SELECT pg_advisory_xact_lock_shared(1, 2)'],
  ['pg_advisory_unlock_all', 'pg_advisory_unlock_all()', 'SELECT pg_advisory_unlock_all()'],
  ['pg_try_advisory_lock', 'pg_try_advisory_lock(1)', 'SELECT pg_try_advisory_lock(1)'],
  ['pg_notify', "pg_notify('c', 'x')", "SELECT pg_notify('c', 'x')"],
  ['set_config', "set_config('a.b', 'c', false)", "SELECT set_config('search_path', 'x', false)"],
  ['pg_cancel_backend', 'pg_cancel_backend(1)', 'SELECT pg_cancel_backend(pid) FROM pg_stat_activity'],
  ['pg_terminate_backend', 'pg_terminate_backend(1)', 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity'],
  ['pg_reload_conf', 'pg_reload_conf()', 'SELECT pg_reload_conf()'],
  ['pg_rotate_logfile', 'pg_rotate_logfile()', 'SELECT pg_rotate_logfile()'],
  ['lo_unlink', 'lo_unlink(1)', 'SELECT lo_unlink(1)'],
  ['lo_import', "lo_import('/etc/passwd')", "SELECT lo_import('/etc/passwd')"],
  ['lo_export', "lo_export(1, '/tmp/x')", "SELECT lo_export(oid, '/tmp/x') FROM pg_largeobject_metadata"],
  ['lo_get (any lo_*)', 'lo_get(1)', 'SELECT lo_get(1)'],
  ['dblink', "dblink('c', 'q')", "SELECT * FROM dblink('dbname=x', 'select 1') AS t(a int)"],
  ['dblink_exec', "dblink_exec('c', 'q')", "SELECT dblink_exec('dbname=x', 'vacuum')"],
  ['pg_switch_wal', 'pg_switch_wal()', 'SELECT pg_switch_wal()'],
  ['pg_create_physical_replication_slot', "pg_create_physical_replication_slot('s')", "SELECT pg_create_physical_replication_slot('s')"],
  ['pg_create_logical_replication_slot', "pg_create_logical_replication_slot('s', 'p')", "SELECT * FROM pg_create_logical_replication_slot('s', 'pgoutput')"],
  ['pg_drop_replication_slot', "pg_drop_replication_slot('s')", "SELECT pg_drop_replication_slot('s')"],
  ['txid_current', 'txid_current()', 'SELECT txid_current()'],
  ['pg_current_xact_id', 'pg_current_xact_id()', 'SELECT pg_current_xact_id()'],
];

describe('pg read-only statements: the first word', () => {
  check([
    ['SELECT', 'SELECT 1', true],
    ['SELECT with a trailing semicolon', 'SELECT id, name FROM users WHERE id = $1;', true],
    ['several trailing semicolons and space', 'select 1 ;; \n', true],
    ['VALUES', 'VALUES (1, 2), (3, 4)', true],
    ['TABLE', 'TABLE users', true],
    ['WITH', 'WITH x AS (SELECT 1) SELECT * FROM x', true],
    ['WITH RECURSIVE', 'WITH RECURSIVE r(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r', true],
    ['SHOW', 'SHOW search_path', true],
    ['SHOW ALL', 'show all', true],
    ['EXPLAIN', 'EXPLAIN SELECT * FROM t', true],
    ['EXPLAIN with options', 'EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) SELECT * FROM t', true],
    ['leading comments and space', '-- report\n/* v2 */\n  SeLeCt 1', true],
    ['leading parentheses', '(SELECT 1) UNION (SELECT 2)', true],
    ['sqlcommenter tag at the end', "SELECT * FROM t /*controller='users',action='show'*/", true],
    ['placeholders, casts, operators, numbers', "SELECT $1::int + 2.5e-3 * 0x1F, a->>'k', b @> '{}' FROM t WHERE c LIKE 'a%' LIMIT 1_000", true],
    ['pg_sleep is read-only', 'SELECT pg_sleep(0.1)', true],
    ['read-only built-ins', "SELECT currval('s'), lastval(), now(), random(), pg_catalog.pg_relation_size('t'), txid_current_if_assigned()", true],
    ['a user-defined function cannot be seen into: accepted', 'SELECT my_schema.compute_totals($1)', true],
    ['EXPLAIN of a DELETE (the DELETE word rule)', 'EXPLAIN DELETE FROM t', false],
    ['EXPLAIN ANALYZE', 'EXPLAIN ANALYZE SELECT * FROM t', false],
    ['EXPLAIN ANALYSE', 'explain analyse select 1', false],
    ['EXPLAIN (ANALYZE)', 'EXPLAIN (FORMAT JSON, ANALYZE) SELECT 1', false],
    ['EXPLAIN (ANALYZE off) is still refused (when unsure)', 'EXPLAIN (ANALYZE off) SELECT 1', false],
    ['INSERT', 'INSERT INTO t VALUES (1)', false],
    ['UPDATE', 'UPDATE t SET a = 1', false],
    ['DELETE', 'DELETE FROM t', false],
    ['SET', 'SET search_path TO x', false],
    ['CREATE TABLE AS', 'CREATE TABLE x AS SELECT 1', false],
    ['DECLARE', 'DECLARE c CURSOR FOR SELECT 1', false],
    ['FETCH (moves a cursor)', 'FETCH 10 FROM c', false],
    ['BEGIN', 'BEGIN', false],
    ['a quoted first word is no keyword', '"SELECT" 1', false],
    ['a leading semicolon', '; SELECT 1', false],
    ['a leading literal', "'x'", false],
    ['parentheses before a non-query', '(DELETE FROM t)', false],
  ]);
});

describe('pg read-only statements: nothing or something unreadable', () => {
  check([
    ['undefined', undefined, false],
    ['empty', '', false],
    ['only space', ' \n\t', false],
    ['only comments', '-- x\n/* y */', false],
    ['only semicolons', ';;', false],
    ['an unterminated string', "SELECT 'abc", false],
    ['an unterminated string ending in a doubled quote', "SELECT 'abc''", false],
    ["an unterminated E'' string", "SELECT E'abc\\'", false],
    ['an unterminated quoted identifier', 'SELECT "abc', false],
    ['an unterminated dollar quote', 'SELECT $a$ abc', false],
    ['an unterminated block comment', 'SELECT 1 /* abc /* */', false],
    ['a backslash in a plain string (standard_conforming_strings off would read it otherwise)', "SELECT 'a\\' , '; DELETE FROM t; --'", false],
    ['a backslash in a plain string, alone', "SELECT 'C:\\temp'", false],
    ["a backslash in an E'' string is fine", "SELECT E'C:\\\\temp', E'it\\'s'", true],
    ['a number run into a word (PostgreSQL < 15 reads `1 into t`)', 'SELECT 1into t', false],
    ['a fraction run into a word', 'SELECT 1.5into t', false],
    ['a quoted identifier as a cast target is fine', 'SELECT 1::"my type"', true],
  ]);
  it('a text that is not a string is false, never a throw', () => {
    expect(isReadOnlyQuery(42 as unknown as string)).to.equal(false);
    expect(isReadOnlyQuery(null as unknown as string)).to.equal(false);
    expect(isReadOnlyQuery({ length: 5, charCodeAt: () => 0 } as unknown as string)).to.equal(false);
  });
});

describe('pg read-only statements: one statement only', () => {
  check([
    ['two SELECTs', 'SELECT 1; SELECT 2', false],
    ['a SELECT then a DELETE', 'SELECT 1; DELETE FROM t', false],
    ['a SELECT then a transaction', 'SELECT 1; COMMIT', false],
    ['a semicolon inside parentheses still splits (when unsure)', 'SELECT (1; SELECT 2)', false],
    ['a semicolon in a string', "SELECT 'a; DELETE FROM t'", true],
    ['a semicolon in a comment', 'SELECT 1 /* ; DELETE FROM t */', true],
    ['a semicolon in a line comment then a newline', 'SELECT 1 -- ; DELETE FROM t\n', true],
    ['a statement after a line comment on a new line', 'SELECT 1 -- x\n; DELETE FROM t', false],
    ['a carriage return ends a line comment too (the server says so)', 'SELECT 1 -- x\r; DELETE FROM t', false],
    ['a NUL (the protocol would cut the text there)', 'SELECT 1 \u0000', false],
  ]);
});

describe('pg read-only statements: every rule, and the same words where they are not SQL', () => {
  for (const [rule, piece, statement] of forbidden) {
    describe(rule, () => {
      it(`refused in SQL: ${statement}`, () => expect(isReadOnlyQuery(statement)).to.equal(false));
      it('refused upper case, lower case, with comments and newlines between words', () => {
        expect(isReadOnlyQuery(`SELECT 1 FROM t WHERE ${piece.toUpperCase()}`), 'upper').to.equal(false);
        expect(isReadOnlyQuery(`select 1 from t where ${piece.toLowerCase()}`), 'lower').to.equal(false);
        expect(isReadOnlyQuery(`SELECT 1 FROM t WHERE ${piece.replaceAll(' ', '\n/* c */\t')}`), 'spread').to.equal(false);
      });
      for (const [where, hide] of hiders) {
        it(`accepted inside ${where}`, () => {
          const text = hide(piece);
          expect(isReadOnlyQuery(text), text).to.equal(true);
        });
      }
    });
  }

  check([
    ['a schema-qualified call', "SELECT pg_catalog.nextval('s')", false],
    ['a quoted schema and name', `SELECT "pg_catalog"."nextval"('s')`, false],
    ['a quoted name', `SELECT "pg_advisory_lock"(1)`, false],
    ['a name in another case', "SELECT NextVal('s')", false],
    ['a comment between name and parenthesis', "SELECT nextval /* x */ ('s')", false],
    ['a call in a subquery', "SELECT * FROM t WHERE id IN (SELECT nextval('s'))", false],
    ['a call in FROM', 'SELECT * FROM pg_logical_slot_get_changes($1, NULL, NULL)', false],
    ['a call in VALUES', "VALUES (setval('s', 10))", false],
    ['a U& quoted name may spell any function', `SELECT U&"\\006Eextval"('s')`, false],
    ['a U& quoted identifier that is not called is fine', 'SELECT 1 AS U&"d\\0061t"', true],
    ['a column named like a function is no call', 'SELECT nextval, lo_offset FROM t', true],
    ['pg_create_*_replication_slot by pattern', "SELECT pg_copy_logical_replication_slot('a', 'b')", false],
    ['FOR in substring() is no lock', 'SELECT substring(name FROM 1 FOR 3) FROM t', true],
    ['FOR ORDINALITY is no lock', 'SELECT * FROM unnest(ARRAY[1, 2]) WITH ORDINALITY', true],
    ['a column named share is fine', 'SELECT share FROM portfolio', true],
    ['a column named key is fine', 'SELECT key, value FROM kv', true],
    ['row locks after WHERE and ORDER BY', 'SELECT * FROM jobs WHERE done = false ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED', false],
    ['SELECT INTO in a CTE query', 'WITH x AS (SELECT 1 AS a) SELECT a INTO y FROM x', false],
    ['CTE: a DELETE in the middle of several', 'WITH a AS (SELECT 1), b AS (DELETE FROM t RETURNING *), c AS (SELECT 2) SELECT * FROM a, c', false],
    ['CTE: the main statement writes', 'WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a', false],
    ['CTE: MATERIALIZED, several, nested', 'WITH a AS MATERIALIZED (SELECT 1 AS x), b AS (WITH c AS (SELECT 2) SELECT * FROM c) SELECT * FROM a, b', true],
    ['keywords inside strings of every kind', "SELECT 'insert into x', E'delete\\'', $$update t$$, $x$ merge $x$, B'101', X'1F', N'copy', U&'call'", true],
    ["a U&'' string with an escape (a backslash outside E'')", "SELECT U&'d\\0061ta'", false],
    ['keywords in comments and quoted identifiers', 'SELECT "insert" AS "delete" /* update */ FROM "merge" -- lock\n', true],
  ]);
});

describe('pg read-only statements: bounded cost', () => {
  it(`reads at most ${READ_ONLY_MAX_LENGTH} characters`, () => {
    const select = `SELECT ${'a, '.repeat(20_000)}1`;
    expect(select.length).to.be.below(READ_ONLY_MAX_LENGTH);
    expect(isReadOnlyQuery(select)).to.equal(true);
    const padded = `SELECT 1 ${' '.repeat(READ_ONLY_MAX_LENGTH - 9)}`;
    expect(padded).to.have.length(READ_ONLY_MAX_LENGTH);
    expect(isReadOnlyQuery(padded)).to.equal(true);
    expect(isReadOnlyQuery(`${padded} `)).to.equal(false);
    expect(isReadOnlyQuery(`SELECT '${'x'.repeat(10 * READ_ONLY_MAX_LENGTH)}'`)).to.equal(false);
  });

  it('linear time on texts built to be slow', () => {
    const max = READ_ONLY_MAX_LENGTH;
    const texts = [
      `SELECT ${"'a', ".repeat(max / 5 - 10)}'\\'`, // many strings, one backslash at the very end
      `SELECT ${'$aaaaaaa '.repeat(max / 9 - 10)}`, // `$` that opens no dollar quote, again and again
      `SELECT $${'a'.repeat(max - 10)}`,
      `SELECT $${'a'.repeat(max / 2 - 10)}$ ${'a'.repeat(max / 2 - 20)}`, // a long tag never closed
      `SELECT ${'/*'.repeat(max / 2 - 10)}`, // nested comments never closed
      `SELECT ${'('.repeat(max - 10)}`,
      `SELECT ${'"a" '.repeat(max / 4 - 10)}`,
      `SELECT ${'f(x) '.repeat(max / 5 - 10)}`,
      `SELECT ${'1e5 '.repeat(max / 4 - 10)}`,
    ];
    for (const text of texts) {
      expect(text.length).to.be.at.most(max);
      isReadOnlyQuery(text); // warm up
      const start = process.hrtime.bigint();
      for (let i = 0; i < 5; i++) isReadOnlyQuery(text);
      const perCallMs = Number(process.hrtime.bigint() - start) / 5 / 1e6;
      expect(perCallMs, text.slice(0, 20)).to.be.below(50);
    }
  });
});

describe('pg read-only statements: properties', () => {
  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (text) => {
        expect(isReadOnlyQuery(text)).to.be.a('boolean');
        expect(isReadOnlyQuery(`SELECT ${text}`)).to.be.a('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  // SQL-ish pieces, so that many generated texts are read-only. A line comment ends at its
  // newline here: one running to the end of the text would rightly swallow what is appended
  // (the server reads `SELECT 1 -- x; DELETE FROM t` as one SELECT).
  const piece = fc.constantFrom(
    "'", "''", "'a'", "E'\\''", "E'", '\\', '\r', '"', '"x"', 'U&"a"', "U&'b'", '$$', '$a$', '$1', '$', '--c\n', '/*', '*/', '/* c */',
    ';', '(', ')', ',', '.', '::', 'E', 'e', 'U&', '1', '1e5', '0x', 'x', 'FOR', 'SHARE', 'nextval', 'pg_catalog.', 'INTO', ' ', '\n',
  );
  const text = fc.tuple(fc.constantFrom('SELECT ', 'WITH x AS (SELECT 1) SELECT ', 'VALUES (', 'TABLE ', 'SHOW ', 'EXPLAIN ', '(SELECT '), fc.array(piece, { maxLength: 30 }));

  it('appending `; DELETE FROM t` to a read-only text makes it not read-only', () => {
    let readOnly = 0;
    fc.assert(
      fc.property(text, ([head, parts]) => {
        const sql = head + parts.join('');
        if (!isReadOnlyQuery(sql)) return;
        readOnly++;
        expect(isReadOnlyQuery(`${sql}; DELETE FROM t`), sql).to.equal(false);
        expect(isReadOnlyQuery(`${sql};DELETE FROM t;`), sql).to.equal(false);
      }),
      { numRuns: 5000 },
    );
    expect(readOnly, 'generated read-only texts').to.be.above(500);
  });

  it('appending a statement on a new line to any read-only text, arbitrary ones included, makes it not read-only', () => {
    fc.assert(
      fc.property(fc.oneof(text.map(([head, parts]) => head + parts.join('')), fc.string({ maxLength: 100 }).map((s) => `SELECT ${s}`)), (sql) => {
        if (!isReadOnlyQuery(sql)) return;
        expect(isReadOnlyQuery(`${sql}\n; DELETE FROM t`), sql).to.equal(false);
      }),
      { numRuns: 5000 },
    );
  });
});
