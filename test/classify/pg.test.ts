import { expect } from 'chai';
import { classify } from '../../src/classify/classify.js';
import type { ErrorCategory, Severity } from '../../src/classify/types.js';

/** The shape of pg's DatabaseError (pg-protocol): name 'error', SQLSTATE in code, severity, routine. */
function dbError(code: string, message = 'some server message'): Error {
  return Object.assign(new Error(message), { name: 'error', length: 100, severity: 'ERROR', code, routine: 'someRoutine', file: 'x.c' });
}

describe('classify: PostgreSQL', () => {
  const table: Array<[string, ErrorCategory, boolean, Severity?]> = [
    ['22012', 'validation', false], // division_by_zero
    ['22P02', 'validation', false], // invalid_text_representation
    ['23505', 'data_integrity', false, 'critical'], // unique_violation
    ['23502', 'data_integrity', false, 'critical'], // not_null_violation
    ['23514', 'data_integrity', false, 'critical'], // check_violation
    ['23503', 'data_integrity', false, 'critical'], // foreign_key_violation
    ['53300', 'resource', true], // too_many_connections
    ['53100', 'resource', true], // disk_full
    ['08006', 'network', true], // connection_failure
    ['08001', 'network', true],
    ['28P01', 'authentication', false, 'high'], // invalid_password
    ['28000', 'authentication', false, 'high'],
    ['3D000', 'configuration', false, 'high'], // invalid_catalog_name
    ['42P01', 'configuration', false], // undefined_table
    ['42703', 'configuration', false], // undefined_column
    ['42601', 'validation', false], // syntax_error
    ['42804', 'validation', false], // datatype_mismatch (class 42)
    ['42501', 'authorization', false, 'high'], // insufficient_privilege
    ['40001', 'concurrency', true, 'medium'], // serialization_failure
    ['40P01', 'concurrency', true], // deadlock_detected
    ['55P03', 'concurrency', true], // lock_not_available
    ['57014', 'timeout', true], // query_canceled (statement_timeout)
    ['57P01', 'external_service', true], // admin_shutdown
    ['57P03', 'external_service', true], // cannot_connect_now
    ['XX000', 'external_service', true], // internal_error
    ['XX001', 'external_service', false, 'critical'], // data_corrupted
    ['P0001', 'business_logic', false, 'low'], // raise_exception
    ['P0002', 'not_found', false], // no_data_found
    ['25P02', 'validation', false], // in_failed_sql_transaction
    ['0A000', 'validation', false], // feature_not_supported
    ['F0000', 'configuration', false],
    ['72000', 'unknown', false], // snapshot_too_old: no entry
  ];
  for (const [sqlstate, category, transient, severity] of table) {
    it(`${sqlstate} -> ${category}`, () => {
      const c = classify(dbError(sqlstate));
      expect(c).to.include({ category, transient, code: sqlstate, rule: 'builtin:pg.sqlstate' });
      if (severity) expect(c.severity).to.equal(severity);
    });
  }

  it('needs the DatabaseError shape for letter-first codes, so EPIPE is not a SQLSTATE', () => {
    expect(classify(Object.assign(new Error('x'), { code: 'EPIPE' })).rule).to.equal('builtin:node.code');
    expect(classify(Object.assign(new Error('x'), { code: 'P0001' })).rule).to.equal('builtin:fallback');
    expect(classify(Object.assign(new Error('x'), { code: 'P0001', severity: 'ERROR' })).category).to.equal('business_logic');
    expect(classify({ code: '40001' }).category).to.equal('concurrency'); // digit-first: a SQLSTATE on its own
    expect(classify({ code: '4000a', severity: 'ERROR' }).rule).to.equal('builtin:fallback');
  });

  const messages: Array<[string, ErrorCategory, string]> = [
    ['Connection terminated unexpectedly', 'network', 'Error'],
    ['Client has encountered a connection error and is not queryable', 'network', 'Error'],
    ['Query read timeout', 'timeout', 'timeout'],
    ['timeout exceeded when trying to connect', 'timeout', 'timeout'],
    ['Connection terminated due to connection timeout', 'timeout', 'timeout'],
  ];
  for (const [message, category, code] of messages) {
    it(`pg's own "${message}" -> ${category}`, () => {
      expect(classify(new Error(message))).to.include({ category, code, rule: 'builtin:pg.message' });
    });
  }

  it("pg-pool's connection-timeout wrapper wins over its cause", () => {
    const err = new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') });
    expect(classify(err).category).to.equal('timeout');
  });
});
