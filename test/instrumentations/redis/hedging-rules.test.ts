// instrumentations/redis/hedging.ts: which Redis commands may be hedged, and which change
// a connection's session (after which a client is no longer hedged).
import { expect } from 'chai';
import fc from 'fast-check';
import { changesSession, isHedgeableRedisCommand } from '../../../instrumentations/redis/hedging.js';
import { REDIS_COMMANDS, redisCommandKind } from '../../../instrumentations/redis/replay.js';

describe('redis hedging: which commands', () => {
  const cases: Array<[string, unknown[], boolean]> = [
    ['GET', ['k'], true],
    ['get', ['k'], true],
    ['MGET', ['a', 'b'], true],
    ['HGETALL', ['h'], true],
    ['ZRANGE', ['z', '0', '-1'], true],
    ['EVALSHA_RO', ['sha', '0'], true],
    ['SORT', ['l', 'LIMIT', '0', '10'], true],
    ['XREAD', ['STREAMS', 's', '0'], true],
    // writes, even idempotent ones: both copies may run
    ['SET', ['k', 'v'], false],
    ['DEL', ['k'], false],
    ['SORT', ['l', 'STORE', 'd'], false],
    ['INCR', ['k'], false],
    ['GETEX', ['k', 'EX', '10'], false],
    ['GETDEL', ['k'], false],
    ['EVAL', ['return 1', '0'], false],
    ['EVALSHA', ['sha', '0'], false],
    // reads about the connection they run on: the twin would answer for itself
    ['PING', [], false],
    ['WAIT', ['1', '100'], false],
    ['WAITAOF', ['1', '0', '100'], false],
    ['CLIENT', ['ID'], false],
    ['client', ['INFO'], false],
    // transactions, unknown commands
    ['MULTI', [], false],
    ['EXEC', [], false],
    ['WATCH', ['k'], false],
    ['NOSUCHCOMMAND', [], false],
  ];
  for (const [command, args, hedgeable] of cases) {
    it(`${command} ${args.join(' ')}: ${hedgeable ? 'hedgeable' : 'never hedged'}`, () => {
      expect(isHedgeableRedisCommand(command, args, false, undefined)).to.equal(hedgeable);
    });
  }

  it('a read inside MULTI, or marked idempotent(fn, false), is never hedged; idempotent(fn) does not make a write hedgeable', () => {
    expect(isHedgeableRedisCommand('GET', ['k'], true, undefined)).to.equal(false);
    expect(isHedgeableRedisCommand('GET', ['k'], false, false)).to.equal(false);
    expect(isHedgeableRedisCommand('GET', ['k'], false, true)).to.equal(true);
    expect(isHedgeableRedisCommand('INCR', ['k'], false, true)).to.equal(false);
  });

  it('only reads of the table are ever hedged, whatever the arguments; it never throws', () => {
    const names = [...REDIS_COMMANDS.keys()];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.array(fc.oneof(fc.string(), fc.integer(), fc.uint8Array().map((a) => Buffer.from(a)))), (name, args) => {
        if (isHedgeableRedisCommand(name, args, false, undefined)) expect(redisCommandKind(name, args)).to.equal('read');
      }),
    );
    expect(isHedgeableRedisCommand(undefined, [], false, undefined)).to.equal(false);
    expect(isHedgeableRedisCommand(Buffer.from('GET'), ['k'], false, undefined)).to.equal(false);
  });

  it('session commands: SELECT, RESET, AUTH and HELLO in any case; nothing else', () => {
    for (const name of ['SELECT', 'select', 'Reset', 'AUTH', 'hello']) expect(changesSession(name), name).to.equal(true);
    for (const name of ['GET', 'SET', 'CLIENT', 'SELECTX', 'UNKNOWN', '']) expect(changesSession(name), name).to.equal(false);
    expect(changesSession(undefined)).to.equal(false);
  });
});
