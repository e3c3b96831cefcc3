import { expect } from 'chai';
import { attemptSpanOf, describeQuery, endpointOf, isSubmittable, queryTextOf } from '../../../instrumentations/pg/utils.js';
import { clientQueryCall, poolQueryCall } from '../../../instrumentations/pg/query-args.js';

describe('pg adapter: operation names and endpoints (utils)', () => {
  it('db.operation.name is the first keyword, upper-cased, only for SQL commands', () => {
    expect(describeQuery('select 1').operation).to.equal('SELECT');
    expect(describeQuery('  -- comment\n  WITH x AS (SELECT 1) SELECT * FROM x').operation).to.equal('WITH');
    expect(describeQuery("ALTER ROLE app PASSWORD 'hunter2'").operation).to.equal('ALTER');
    expect(describeQuery('hunter2 is not sql').operation).to.equal(undefined);
    expect(describeQuery('"quoted" identifier first').operation).to.equal(undefined);
    expect(describeQuery('').operation).to.equal(undefined);
    expect(describeQuery(undefined).operation).to.equal(undefined);
  });

  it('several statements: BATCH <operation> when they agree, BATCH when not', () => {
    expect(describeQuery('INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)').operation).to.equal('BATCH INSERT');
    expect(describeQuery('BEGIN; INSERT INTO t VALUES (1); COMMIT').operation).to.equal('BATCH');
  });

  it('the replay facts come with it (one read of the text)', () => {
    expect(describeQuery('SELECT 1').statement).to.include({ atomic: true, controlsTransaction: false });
    expect(describeQuery('DO $$ BEGIN END $$').statement).to.include({ atomic: false, controlsTransaction: false });
    expect(describeQuery('BEGIN').statement.controlsTransaction).to.equal(true);
    expect(describeQuery(42).statement.controlsTransaction).to.equal(true); // unreadable: careful
  });

  it('endpoint from a connection string: no user, no password, no parameters', () => {
    const endpoint = endpointOf({ connectionString: 'postgresql://bob:s3cret@DB.example.com:6432/app?application_name=tok' });
    expect(endpoint.target).to.equal('postgresql://db.example.com:6432/app');
    expect(endpoint.attributes).to.deep.equal({ 'db.system.name': 'postgresql', 'server.address': 'db.example.com', 'server.port': 6432, 'db.namespace': 'app' });
    expect(attemptSpanOf(endpoint, 'SELECT').name).to.equal('SELECT app');
    expect(attemptSpanOf(endpoint, 'SELECT')).to.equal(attemptSpanOf(endpoint, 'SELECT')); // built once
  });

  it('endpoint without a database names the address; IPv6 unbracketed in server.address', () => {
    const saved = process.env.PGDATABASE;
    delete process.env.PGDATABASE; // pg (and the key) would fall back to it
    try {
      const endpoint = endpointOf({ host: '::1', port: 5433 });
      expect(endpoint.attributes).to.deep.equal({ 'db.system.name': 'postgresql', 'server.address': '::1', 'server.port': 5433 });
      expect(attemptSpanOf(endpoint, 'SELECT').name).to.equal('SELECT [::1]:5433');
      expect(attemptSpanOf(endpoint, undefined).name).to.equal('[::1]:5433');
    } finally {
      if (saved !== undefined) process.env.PGDATABASE = saved;
    }
  });

  it('a unix socket: no server.address (the directory may name a user), the database still named', () => {
    const endpoint = endpointOf({ host: '/home/alice/pgsock', port: 5432, database: 'app' });
    expect(endpoint.attributes['server.address']).to.equal(undefined);
    expect(endpoint.attributes['db.namespace']).to.equal('app');
    expect(JSON.stringify(endpoint)).not.to.include('alice');
  });

  it('query text and Submittables are read without throwing', () => {
    expect(queryTextOf('SELECT 1')).to.equal('SELECT 1');
    expect(queryTextOf({ text: 'SELECT 2' })).to.equal('SELECT 2');
    const hostile = new Proxy({}, { get: () => { throw new Error('boom'); } });
    expect(queryTextOf(hostile)).to.equal(undefined);
    expect(isSubmittable(hostile)).to.equal(false);
    expect(isSubmittable({ submit() {} })).to.equal(true);
  });
});

describe('pg adapter: call forms (query-args)', () => {
  const cb = () => undefined;
  const other = () => undefined;

  it('Client: the callback argument wins, then a function as values, then config.callback', () => {
    expect(clientQueryCall('SELECT 1', [1], cb)).to.deep.equal({ config: 'SELECT 1', values: [1], callback: cb });
    expect(clientQueryCall('SELECT 1', other, cb)).to.deep.include({ values: undefined, callback: cb });
    expect(clientQueryCall('SELECT 1', cb, undefined)).to.deep.include({ values: undefined, callback: cb });
    const config = { text: 'SELECT 1', callback: cb };
    const call = clientQueryCall(config, undefined, undefined)!;
    expect(call.callback).to.equal(cb);
    expect((call.config as { callback?: unknown }).callback).to.equal(undefined); // taken out of a copy
    expect(config.callback).to.equal(cb); // the caller's object untouched
    expect((call.config as { text: string }).text).to.equal('SELECT 1');
  });

  it('Client: what pg handles itself is left to it', () => {
    expect(clientQueryCall(null, undefined, undefined)).to.equal(undefined);
    expect(clientQueryCall({ submit() {} }, undefined, undefined)).to.equal(undefined);
    expect(clientQueryCall('SELECT 1', [], 'not a function')).to.equal(undefined);
    expect(clientQueryCall('SELECT 1', undefined, undefined)).to.deep.equal({ config: 'SELECT 1', values: undefined, callback: undefined });
  });

  it('Pool: a function as values wins (pg-pool), a config callback is ignored like pg-pool does', () => {
    expect(poolQueryCall('SELECT 1', cb, other)).to.deep.include({ values: undefined, callback: cb });
    const call = poolQueryCall({ text: 'SELECT 1', callback: cb }, [1], undefined)!;
    expect(call.callback).to.equal(undefined);
    expect((call.config as { callback?: unknown }).callback).to.equal(undefined);
    expect(poolQueryCall(cb, undefined, undefined)).to.equal(undefined);
  });
});
