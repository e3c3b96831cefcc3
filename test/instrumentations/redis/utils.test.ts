import { expect } from 'chai';
import { redisPipelineReplayDecision } from '../../../instrumentations/redis/replay.js';
import { RawTransactions } from '../../../instrumentations/redis/transaction.js';
import { commandName, connectionOf } from '../../../instrumentations/redis/utils.js';

describe('redis adapter helpers', () => {
  describe('commandName', () => {
    it('upper-cases the first word, from a string or a Buffer', () => {
      expect(commandName('get')).to.equal('GET');
      expect(commandName(Buffer.from('hSet'))).to.equal('HSET');
      expect(commandName('JSON.SET')).to.equal('JSON.SET');
    });
    it('never lets an argument-like value through', () => {
      expect(commandName('Bearer tok_123')).to.equal('UNKNOWN');
      expect(commandName('x'.repeat(41))).to.equal('UNKNOWN');
      expect(commandName(42)).to.equal('UNKNOWN');
      expect(commandName(undefined)).to.equal('UNKNOWN');
    });
  });

  describe('connectionOf', () => {
    it('takes target and attributes from node-redis options, never the password', () => {
      const options = { url: 'redis://user:s3cret@Cache.example:6380/4', socket: { host: 'Cache.example', port: 6380, tls: false }, password: 's3cret', database: 4 };
      const { target, attributes } = connectionOf(options);
      expect(target).to.equal('redis://cache.example:6380/4');
      expect(attributes).to.deep.equal({
        'db.system.name': 'redis',
        'server.address': 'cache.example',
        'server.port': 6380,
        'db.namespace': '4',
      });
      expect(JSON.stringify(attributes)).to.not.include('s3cret');
      expect(connectionOf(options)).to.equal(connectionOf(options)); // cached per options object
    });
    it('defaults to localhost:6379/0 and names no socket path', () => {
      expect(connectionOf(undefined).target).to.equal('redis://localhost:6379/0');
      const unix = connectionOf({ socket: { path: '/home/alice/redis.sock' } });
      expect(unix.attributes['server.address']).to.equal(undefined);
      expect(JSON.stringify(unix)).to.not.include('alice');
    });
  });

  describe('redisPipelineReplayDecision', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    it('replays a pipeline only when every command may be replayed', () => {
      expect(redisPipelineReplayDecision({ commands: [['SET', 'k', 'v'], ['GET', 'k']], failure: reset })).to.equal(true);
      expect(redisPipelineReplayDecision({ commands: [['GET', 'k'], ['INCR', 'n']], failure: reset })).to.equal('not_idempotent');
      expect(redisPipelineReplayDecision({ commands: [['GET', 'k'], ['MULTI']], failure: reset })).to.equal('in_transaction');
    });
    it('replays anything that never left, or that the caller marked', () => {
      const offline = new Error('The client is offline');
      expect(redisPipelineReplayDecision({ commands: [['INCR', 'n']], failure: offline })).to.equal(true);
      expect(redisPipelineReplayDecision({ commands: [['INCR', 'n']], failure: reset, markedIdempotent: true })).to.equal(true);
    });
    it('never throws on odd input', () => {
      expect(redisPipelineReplayDecision({ commands: [null as never, 5 as never] })).to.equal('not_idempotent');
      expect(redisPipelineReplayDecision({ commands: undefined as never })).to.equal('not_idempotent');
    });
  });

  describe('RawTransactions', () => {
    it('is open from MULTI until EXEC, DISCARD or RESET', () => {
      const tx = new RawTransactions();
      const client = { isReady: true, socketEpoch: 1 };
      expect(tx.isOpen(client)).to.equal(false);
      tx.sending(client, 'MULTI');
      expect(tx.isOpen(client)).to.equal(true);
      tx.sending(client, 'SET');
      expect(tx.isOpen(client)).to.equal(true);
      tx.sending(client, 'EXEC');
      expect(tx.isOpen(client)).to.equal(false);
      tx.sending(client, 'MULTI');
      tx.sending(client, 'DISCARD');
      expect(tx.isOpen(client)).to.equal(false);
    });
    it('closes when the connection it was opened on is gone', () => {
      const tx = new RawTransactions();
      const client = { isReady: true, socketEpoch: 1 };
      tx.sending(client, 'MULTI');
      client.socketEpoch = 2;
      expect(tx.isOpen(client)).to.equal(false);
    });
    it('keeps a MULTI queued offline open whatever connection it goes out on', () => {
      const tx = new RawTransactions();
      const client = { isReady: false, socketEpoch: 0 };
      tx.sending(client, 'MULTI');
      client.socketEpoch = 1;
      expect(tx.isOpen(client)).to.equal(true);
    });
  });
});
