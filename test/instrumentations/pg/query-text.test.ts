import { expect } from 'chai';
import fc from 'fast-check';
import { pgQueryText, sanitizeSql } from '../../../instrumentations/pg/query-text.js';
import { DB_QUERY_TEXT_MAX } from '../../../instrumentations/kit/semconv.js';

describe('pg adapter: db.query.text (literals sanitised, placeholders kept, bounded)', () => {
  it('replaces every kind of literal by ?', () => {
    expect(sanitizeSql("ALTER ROLE x PASSWORD 'hunter2'")).to.equal('ALTER ROLE x PASSWORD ?');
    expect(sanitizeSql("SELECT 'it''s', E'a\\'b', B'101', X'1F', N'n', U&'d\\0061t', 'x'")).to.equal('SELECT ?, ?, ?, ?, ?, ?, ?');
    expect(sanitizeSql('SELECT 1, -2.5, .5, 1e-5, 2E+10, 0x1F, 1_000 FROM t LIMIT 10')).to.equal('SELECT ?, -?, ?, ?, ?, ?, ? FROM t LIMIT ?');
    expect(sanitizeSql("DO $$ BEGIN PERFORM f('s3cr3t'); END $$")).to.equal('DO ?');
    expect(sanitizeSql('CREATE FUNCTION f() RETURNS int AS $body$ SELECT 42 $body$ LANGUAGE sql')).to.equal('CREATE FUNCTION f() RETURNS int AS ? LANGUAGE sql');
    expect(sanitizeSql("SELECT DATE '2024-01-01', interval '1 day'")).to.equal('SELECT DATE ?, interval ?');
  });

  it('keeps placeholders, identifiers (quoted ones, ones with digits), casts, keywords and comments', () => {
    expect(sanitizeSql('SELECT $1::int AS n, $12 FROM t1 WHERE "Col 2" = $2')).to.equal('SELECT $1::int AS n, $12 FROM t1 WHERE "Col 2" = $2');
    expect(sanitizeSql('SELECT true, NULL, col_2 FROM s1.t2 -- 3 rows\n/* v2 */')).to.equal('SELECT true, NULL, col_2 FROM s1.t2 -- 3 rows\n/* v2 */');
    expect(sanitizeSql('SELECT "it\'s" FROM t')).to.equal('SELECT "it\'s" FROM t');
    expect(sanitizeSql("SELECT 'a -- not a comment', 1 -- it's a comment")).to.equal("SELECT ?, ? -- it's a comment");
  });

  it('an unterminated literal hides everything after its quote', () => {
    expect(sanitizeSql("SELECT 'hunter2")).to.equal('SELECT ?');
    expect(sanitizeSql('SELECT $x$ hunter2')).to.equal('SELECT ?');
  });

  it(`is cut at ${DB_QUERY_TEXT_MAX} characters, after sanitising (a cut never shows part of a literal)`, () => {
    const long = `INSERT INTO t VALUES ${Array.from({ length: 2000 }, (_, i) => `(${i}, 'secret-${i}')`).join(', ')}`;
    const text = sanitizeSql(long);
    expect(text).to.have.length(DB_QUERY_TEXT_MAX);
    expect(text).to.match(/^INSERT INTO t VALUES \(\?, \?\), \(\?, \?\)/);
    expect(text).not.to.include('secret');
    expect(sanitizeSql(`SELECT '${'x'.repeat(5000)}'`)).to.equal('SELECT ?');
    // A surrogate pair straddling the cut is dropped whole.
    expect(sanitizeSql(`SELECT "${'a'.repeat(2039)}😀"`, 2048)).to.have.length(2047);
  });

  it('property: no character of any literal survives, and every placeholder does', () => {
    // Literal contents carry a `~`, which nothing else in the generated SQL has.
    const word = fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/).map((sql) => ({ sql, placeholder: undefined as string | undefined }));
    const content = fc.stringMatching(/^[A-Za-z0-9 %;'\\$-]{0,12}$/).map((v) => `~${v}`);
    const literal = content.map((v) => ({ sql: `'${v.replace(/'/g, "''")}'`, placeholder: undefined }));
    const escaped = content.map((v) => ({ sql: `E'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`, placeholder: undefined }));
    const dollar = content.map((v) => ({ sql: `$q$${v.replace(/\$/g, '')}$q$`, placeholder: undefined }));
    const number = fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }).map((n) => ({ sql: String(n), placeholder: undefined }));
    const placeholder = fc.integer({ min: 1, max: 99 }).map((n) => ({ sql: `$${n}`, placeholder: `$${n}` }));
    const part = fc.oneof(word, placeholder, literal, escaped, dollar, number);
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 12 }), (parts) => {
        const sql = `SELECT ${parts.map((p) => p.sql).join(', ')} FROM zz`;
        const out = sanitizeSql(sql);
        expect(out).not.to.include('~');
        for (const p of parts) if (p.placeholder !== undefined) expect(out).to.include(p.placeholder);
        expect(out.endsWith(' FROM zz')).to.equal(true);
        // Numbers too: no digit is left outside placeholders and identifiers.
        expect(out.replace(/\$\d+|[a-z_][a-z0-9_]*/g, '')).not.to.match(/\d/);
      }),
      { numRuns: 300 },
    );
  });

  it('pgQueryText caches per text and gives the same answer', () => {
    const text = "SELECT 'cached' AS c";
    expect(pgQueryText(text)).to.equal('SELECT ? AS c');
    expect(pgQueryText(text)).to.equal('SELECT ? AS c');
  });
});
