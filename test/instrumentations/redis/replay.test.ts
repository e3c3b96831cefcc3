import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import {
  isIdempotentRedisCommand,
  REDIS_COMMANDS,
  redisCommandKind,
  redisReplayDecision,
  type RedisCommandKind,
} from '../../../instrumentations/redis/replay.js';

const reset = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED', syscall: 'connect' });

describe('redis replay: the command table', () => {
  const cases: Array<[string, unknown[], RedisCommandKind]> = [
    // reads
    ['GET', ['k'], 'read'],
    ['get', ['k'], 'read'],
    ['MGET', ['a', 'b'], 'read'],
    ['HGETALL', ['h'], 'read'],
    ['EXISTS', ['k'], 'read'],
    ['TTL', ['k'], 'read'],
    ['SCAN', ['0', 'MATCH', '*'], 'read'],
    ['ZRANGE', ['z', '0', '-1'], 'read'],
    ['PING', [], 'read'],
    ['EVAL_RO', ['return 1', '0'], 'read'],
    ['SORT', ['l', 'LIMIT', '0', '10'], 'read'],
    ['GETEX', ['k'], 'read'],
    ['BITFIELD', ['b', 'GET', 'u8', '0'], 'read'],
    // idempotent writes
    ['SET', ['k', 'v'], 'write'],
    ['set', ['k', 'v', 'ex', 10], 'write'],
    ['SET', ['k', 'v', 'PX', '100'], 'write'],
    ['SET', ['k', 'v', 'EXAT', '1900000000'], 'write'],
    ['SET', ['k', 'v', 'KEEPTTL'], 'write'],
    ['SET', ['k', 'v', 'XX'], 'write'],
    ['SET', ['NX', 'GET'], 'write'], // key "NX", value "GET": not options
    ['SET', [Buffer.from('k'), Buffer.from('v'), Buffer.from('EX'), Buffer.from('5')], 'write'],
    ['SETEX', ['k', '10', 'v'], 'write'],
    ['MSET', ['a', '1', 'b', '2'], 'write'],
    ['DEL', ['k'], 'write'],
    ['UNLINK', ['k'], 'write'],
    ['EXPIREAT', ['k', '1900000000'], 'write'],
    ['PEXPIREAT', ['k', '1900000000000', 'GT'], 'write'],
    ['PERSIST', ['k'], 'write'],
    ['GETEX', ['k', 'EXAT', '1900000000'], 'write'],
    ['GETEX', ['k', 'PERSIST'], 'write'],
    ['HSET', ['h', 'f', 'v'], 'write'],
    ['HDEL', ['h', 'f'], 'write'],
    ['SADD', ['s', 'm'], 'write'],
    ['SREM', ['s', 'm'], 'write'],
    ['ZADD', ['z', '1', 'm'], 'write'],
    ['ZADD', ['z', 'NX', 'CH', '1', 'm'], 'write'],
    ['ZADD', ['z', 'GT', '1', 'INCR'], 'write'], // "INCR" is a member here, after the score
    ['LREM', ['l', '0', 'x'], 'write'],
    ['LTRIM', ['l', '0', '99'], 'write'],
    ['LTRIM', ['l', '-100', '-1'], 'write'],
    ['SUNIONSTORE', ['d', 'd', 's'], 'write'],
    ['ZUNIONSTORE', ['d', '2', 'a', 'b'], 'write'],
    ['BITOP', ['AND', 'd', 'd', 'x'], 'write'],
    ['BITOP', ['XOR', 'd', 'a', 'b'], 'write'],
    ['SORT', ['l', 'STORE', 'd'], 'write'],
    ['RESTORE', ['k', '0', 'payload', 'REPLACE'], 'write'],
    ['XACK', ['s', 'g', '1-1'], 'write'],
    ['SCRIPT', ['LOAD', 'return 1'], 'write'],
    ['CLIENT', ['SETNAME', 'app'], 'write'],
    ['HSETEX', ['h', 'EX', '10', 'FIELDS', '1', 'f', 'v'], 'write'],
    ['FUNCTION', ['LOAD', 'REPLACE', 'code'], 'write'],
    // the reply is the previous value
    ['SET', ['k', 'v', 'GET'], 'previous_value'],
    ['GETSET', ['k', 'v'], 'previous_value'],
    ['GETDEL', ['k'], 'previous_value'],
    ['SETBIT', ['b', '7', '1'], 'previous_value'],
    ['BITFIELD', ['b', 'SET', 'u8', '0', '1'], 'previous_value'],
    // claims
    ['SETNX', ['lock', 'me'], 'claim'],
    ['SET', ['lock', 'me', 'NX', 'PX', '30000'], 'claim'],
    ['SET', ['k', 'v', 'IFEQ', 'old'], 'claim'],
    ['HSETNX', ['h', 'f', 'v'], 'claim'],
    ['MSETNX', ['a', '1'], 'claim'],
    ['SMOVE', ['pending', 'working', 'job1'], 'claim'],
    ['RENAMENX', ['a', 'b'], 'claim'],
    ['HSETEX', ['h', 'FNX', 'FIELDS', '1', 'f', 'v'], 'claim'],
    // relative TTLs
    ['EXPIRE', ['k', '60'], 'relative_ttl'],
    ['PEXPIRE', ['k', '60000'], 'relative_ttl'],
    ['GETEX', ['k', 'EX', '60'], 'relative_ttl'],
    ['HGETEX', ['h', 'PX', '100', 'FIELDS', '1', 'f'], 'relative_ttl'],
    // not idempotent
    ['INCR', ['n'], 'not_idempotent'],
    ['INCRBYFLOAT', ['n', '0.5'], 'not_idempotent'],
    ['HINCRBY', ['h', 'f', '1'], 'not_idempotent'],
    ['LPUSH', ['l', 'x'], 'not_idempotent'],
    ['RPOP', ['l'], 'not_idempotent'],
    ['LMOVE', ['a', 'b', 'LEFT', 'RIGHT'], 'not_idempotent'],
    ['BLPOP', ['l', '0'], 'not_idempotent'],
    ['APPEND', ['k', 'x'], 'not_idempotent'],
    ['SPOP', ['s'], 'not_idempotent'],
    ['ZINCRBY', ['z', '1', 'm'], 'not_idempotent'],
    ['ZADD', ['z', 'INCR', '1', 'm'], 'not_idempotent'],
    ['XADD', ['s', '*', 'f', 'v'], 'not_idempotent'],
    ['XREADGROUP', ['GROUP', 'g', 'c', 'STREAMS', 's', '>'], 'not_idempotent'],
    ['PUBLISH', ['ch', 'm'], 'not_idempotent'],
    ['RENAME', ['a', 'b'], 'not_idempotent'],
    ['LREM', ['l', '1', 'x'], 'not_idempotent'],
    ['LTRIM', ['l', '1', '-1'], 'not_idempotent'],
    ['ZREMRANGEBYRANK', ['z', '0', '0'], 'not_idempotent'],
    ['ZUNIONSTORE', ['d', '2', 'd', 'b'], 'not_idempotent'],
    ['SDIFFSTORE', ['d', 's', 'd'], 'not_idempotent'],
    ['ZRANGESTORE', ['z', 'z', '1', '-1'], 'not_idempotent'],
    ['BITOP', ['XOR', 'd', 'd', 'b'], 'not_idempotent'],
    ['BITOP', ['NOT', 'd', 'd'], 'not_idempotent'],
    ['SORT', ['l', 'LIMIT', '1', '10', 'STORE', 'l'], 'not_idempotent'],
    ['BITFIELD', ['b', 'INCRBY', 'u8', '0', '1'], 'not_idempotent'],
    ['RESTORE', ['k', '0', 'payload'], 'not_idempotent'],
    ['XGROUP', ['CREATE', 's', 'g', '$'], 'not_idempotent'],
    ['FUNCTION', ['LOAD', 'code'], 'not_idempotent'],
    // scripts, transactions, unknown
    ['EVAL', ['return 1', '0'], 'script'],
    ['EVALSHA', ['abc', '0'], 'script'],
    ['FCALL', ['f', '0'], 'script'],
    ['MULTI', [], 'transaction'],
    ['EXEC', [], 'transaction'],
    ['WATCH', ['k'], 'transaction'],
    ['JSON.SET', ['k', '$', '1'], 'unknown'],
    ['SET', ['k', 'v', 'FUTUREOPTION'], 'unknown'],
    ['CLIENT', ['KILL', 'ID', '1'], 'unknown'],
    ['CONFIG', ['SET', 'x', 'y'], 'unknown'],
    ['FLUSHALL', [], 'unknown'],
  ];
  for (const [command, args, expected] of cases) {
    it(`${command} ${args.map(String).join(' ')}: ${expected}`, () => {
      expect(redisCommandKind(command, args)).to.equal(expected);
      expect(isIdempotentRedisCommand(command, args)).to.equal(expected === 'read' || expected === 'write');
    });
  }

  it('COMMAND with no subcommand reads; a Buffer command name works; junk is unknown', () => {
    expect(redisCommandKind('command')).to.equal('read');
    expect(redisCommandKind(Buffer.from('get'), ['k'])).to.equal('read');
    expect(redisCommandKind(undefined)).to.equal('unknown');
    expect(redisCommandKind({}, ['k'])).to.equal('unknown');
    expect(redisCommandKind('x'.repeat(100))).to.equal('unknown');
    expect(redisCommandKind('SET', 'not an array' as never)).to.equal('write');
  });

  it('every command in the table is named in docs/replay-safety.md', () => {
    const docs = readFileSync(new URL('../../../../docs/replay-safety.md', import.meta.url), 'utf8');
    const missing = [...REDIS_COMMANDS.keys()].filter((name) => !new RegExp(`\\b${name}\\b`).test(docs));
    expect(missing).to.deep.equal([]);
  });
});

describe('redis replay: the decision', () => {
  const cases: Array<[string, Parameters<typeof redisReplayDecision>[0], true | 'not_idempotent' | 'in_transaction']> = [
    ['a read', { command: 'GET', args: ['k'], failure: reset() }, true],
    ['an idempotent write', { command: 'SET', args: ['k', 'v', 'EX', '10'], failure: reset() }, true],
    ['INCR', { command: 'INCR', args: ['n'], failure: reset() }, 'not_idempotent'],
    ['SETNX', { command: 'SETNX', args: ['lock', 'me'], failure: reset() }, 'not_idempotent'],
    ['EXPIRE', { command: 'EXPIRE', args: ['k', '60'], failure: reset() }, 'not_idempotent'],
    ['EVAL', { command: 'EVAL', args: ['return 1', '0'], failure: reset() }, 'not_idempotent'],
    ['EVAL marked idempotent', { command: 'EVAL', args: ['return 1', '0'], markedIdempotent: true, failure: reset() }, true],
    ['SADD marked not idempotent (used as "first seen")', { command: 'SADD', args: ['seen', 'id'], markedIdempotent: false, failure: reset() }, 'not_idempotent'],
    ['a read inside MULTI', { command: 'GET', args: ['k'], inMulti: true, failure: reset() }, 'in_transaction'],
    ['EXEC', { command: 'EXEC', failure: reset() }, 'in_transaction'],
    ['inside MULTI, even marked and never sent', { command: 'INCR', args: ['n'], inMulti: true, markedIdempotent: true, sent: false }, 'in_transaction'],
    ['INCR that never left (connection refused)', { command: 'INCR', args: ['n'], failure: refused() }, true],
    ['INCR the adapter knows was never written', { command: 'INCR', args: ['n'], sent: false }, true],
    ['INCR marked not idempotent that never left', { command: 'INCR', args: ['n'], markedIdempotent: false, sent: false }, true],
    ['an unknown command', { command: 'JSON.NUMINCRBY', args: ['k', '$', '1'], failure: reset() }, 'not_idempotent'],
  ];
  for (const [label, input, expected] of cases) it(`${label}: ${String(expected)}`, () => expect(redisReplayDecision(input)).to.equal(expected));

  it("node-redis's and ioredis's real never-sent errors", async () => {
    const client = createClient({ url: 'redis://127.0.0.1:1' });
    const closed = await client.sendCommand(['INCR', 'n']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(redisReplayDecision({ command: 'INCR', args: ['n'], failure: closed })).to.equal(true);

    const io = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    io.on('error', () => undefined);
    try {
      const offline = await io.incr('n').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(offline).to.be.instanceOf(Error);
      expect(redisReplayDecision({ command: 'incr', args: ['n'], failure: offline })).to.equal(true);
    } finally {
      io.disconnect();
    }
  });

  it('property: a command not in the table is never replayed (unless it never left or is marked)', () => {
    const known = new Set(['COMMAND', 'CLIENT', 'CONFIG', 'OBJECT', 'MEMORY', 'XINFO', 'CLUSTER', 'PUBSUB', 'ACL', 'SLOWLOG', 'SCRIPT', 'FUNCTION', 'XGROUP', ...REDIS_COMMANDS.keys()]);
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12 }).filter((c) => !known.has(c.toUpperCase())),
        fc.array(fc.oneof(fc.string(), fc.integer(), fc.uint8Array().map((a) => Buffer.from(a)))),
        (command, args) => {
          expect(redisCommandKind(command, args)).to.equal('unknown');
          expect(redisReplayDecision({ command, args, failure: reset() })).to.equal('not_idempotent');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: inside MULTI/EXEC nothing is ever replayed', () => {
    const names = [...REDIS_COMMANDS.keys()];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.array(fc.string()), fc.option(fc.boolean(), { nil: undefined }), fc.option(fc.boolean(), { nil: undefined }), (command, args, marked, sent) => {
        expect(redisReplayDecision({ command, args, inMulti: true, markedIdempotent: marked, sent, failure: refused() })).to.equal('in_transaction');
      }),
    );
  });

  it('property: a counting, popping or pushing command is never replayed after a lost reply, whatever its arguments', () => {
    const never = ['INCR', 'INCRBY', 'DECR', 'LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'SPOP', 'XADD', 'PUBLISH', 'APPEND', 'ZINCRBY', 'HINCRBY', 'EVAL', 'SETNX', 'GETDEL'];
    fc.assert(
      fc.property(fc.constantFrom(...never), fc.array(fc.oneof(fc.string(), fc.integer())), (command, args) => {
        expect(redisReplayDecision({ command, args, failure: reset() })).to.equal('not_idempotent');
      }),
    );
  });

  it('property: never throws', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (command, args, failure) => {
        const decision = redisReplayDecision({ command, args: args as unknown[], failure });
        expect([true, 'not_idempotent', 'in_transaction']).to.include(decision);
      }),
    );
  });
});
