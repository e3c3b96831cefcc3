import { expect } from 'chai';
import fc from 'fast-check';
import { MAX_WORDS, splitStatements } from '../../../instrumentations/pg/statements.js';

const firstWords = (text: string): string[] => splitStatements(text).map((s) => s.words.slice(0, 2).join(' '));

describe('pg statements: splitting a query string', () => {
  const cases: Array<[string, string, string[]]> = [
    ['one statement (numbers are no words)', 'SELECT 1', ['SELECT']],
    ['keywords upper-cased, leading space skipped', '  \n\tbegin', ['BEGIN']],
    ['several statements', 'BEGIN; INSERT INTO t VALUES (1); COMMIT;', ['BEGIN', 'INSERT INTO', 'COMMIT']],
    ['empty statements and trailing semicolons dropped', ';; SELECT 1;;', ['SELECT']],
    ['only comments', '-- nothing\n/* at all */', []],
    ['a line comment hides a semicolon', '-- a; b\nCOMMIT', ['COMMIT']],
    ['a carriage return ends a line comment, as in the server', 'SELECT 1 -- a\r; BEGIN', ['SELECT', 'BEGIN']],
    ['nested block comments', '/* outer /* inner; */ still; */ ROLLBACK', ['ROLLBACK']],
    ['a semicolon in a string', "INSERT INTO t VALUES ('a;b'); COMMIT", ['INSERT INTO', 'COMMIT']],
    ["a doubled quote in a string", "SELECT 'it''s; fine'; END", ['SELECT', 'END']],
    ["an E'' string with a backslash-escaped quote", "SELECT E'a\\'; COMMIT; b'; SELECT x", ['SELECT', 'SELECT X']],
    ['a quoted identifier', 'SELECT "a;b" FROM t; COMMIT', ['SELECT "', 'COMMIT']],
    ['a dollar-quoted body', 'DO $$ BEGIN PERFORM 1; COMMIT; END $$; SELECT 1', ['DO', 'SELECT']],
    ['a tagged dollar quote', 'CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $fn$ LANGUAGE sql; BEGIN', ['CREATE FUNCTION', 'BEGIN']],
    ['a parameter is no dollar quote', 'SELECT $1; COMMIT', ['SELECT', 'COMMIT']],
    ['a semicolon in parentheses (a multi-action rule)', 'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); COMMIT', ['CREATE RULE', 'COMMIT']],
    [
      'a BEGIN ATOMIC body',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END; COMMIT',
      ['CREATE FUNCTION', 'COMMIT'],
    ],
    ['CREATE OR REPLACE PROCEDURE ... BEGIN ATOMIC', 'CREATE OR REPLACE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END; ROLLBACK', ['CREATE OR', 'ROLLBACK']],
    ['BEGIN and END outside a routine are statements', 'BEGIN; END', ['BEGIN', 'END']],
    ['numbers with exponents are not words', 'SELECT 1e5; COMMIT', ['SELECT', 'COMMIT']],
    ['an unterminated string swallows the rest', "SELECT 'abc; COMMIT", ['SELECT']],
  ];
  for (const [label, text, expected] of cases) {
    it(label, () => expect(firstWords(text)).to.deep.equal(expected));
  }

  it(`keeps at most ${MAX_WORDS} words per statement and stops early on a long single statement`, () => {
    const long = `INSERT INTO t (a) VALUES ${Array.from({ length: 10_000 }, (_, i) => `(${i})`).join(', ')}`;
    for (const text of [long, `${long};`, `${long} ;\n`]) {
      const all = splitStatements(text);
      expect(all).to.have.length(1);
      expect(all[0]!.words).to.deep.equal(['INSERT', 'INTO', 'T', 'A', 'VALUES']);
    }
    expect(splitStatements(`${long}; COMMIT`).map((s) => s.words[0])).to.deep.equal(['INSERT', 'COMMIT']);
    expect(splitStatements('COMMIT WORK AND NO CHAIN')[0]!.words).to.deep.equal(['COMMIT', 'WORK', 'AND', 'NO', 'CHAIN']);
    expect(splitStatements('a b c d e f g h i j')[0]!.words).to.have.length(MAX_WORDS);
  });

  it('never throws and never returns an empty statement, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => {
        for (const s of splitStatements(text)) expect(s.words.length).to.be.at.most(MAX_WORDS);
      }),
      { numRuns: 1000 },
    );
    const pieces = fc.constantFrom("'", '"', '$$', '$a$', '--', '/*', '*/', ';', '(', ')', 'BEGIN', 'END', 'CASE', 'E', ' ', '\n', 'x');
    fc.assert(fc.property(fc.array(pieces, { maxLength: 40 }), (parts) => void splitStatements(parts.join(''))), { numRuns: 1000 });
  });
});
