import { expect } from 'chai';
import { classify } from '../../src/classify/classify.js';
import type { ErrorCategory } from '../../src/classify/types.js';

/** ioredis's ReplyError (redis-errors): `name` is a getter returning the constructor's name. */
class ReplyError extends Error {
  override get name(): string {
    return this.constructor.name;
  }
}
/** node-redis's reply errors never set `name`: it stays 'Error'. */
class ErrorReply extends Error {}
class SimpleError extends ErrorReply {}

describe('classify: Redis', () => {
  const table: Array<[string, ErrorCategory, boolean, string]> = [
    ['NOAUTH Authentication required.', 'authentication', false, 'NOAUTH'],
    ['WRONGPASS invalid username-password pair or user is disabled.', 'authentication', false, 'WRONGPASS'],
    ["NOPERM User u has no permissions to run the 'set' command", 'authorization', false, 'NOPERM'],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'validation', false, 'WRONGTYPE'],
    ['ERR syntax error', 'validation', false, 'ERR'],
    ['ERR wrong number of arguments for \'get\' command', 'validation', false, 'ERR'],
    ["ERR unknown command 'FOO', with args beginning with: ", 'validation', false, 'ERR'],
    ['ERR max number of clients reached', 'resource', true, 'ERR'],
    ["OOM command not allowed when used memory > 'maxmemory'.", 'resource', true, 'OOM'],
    ['BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.', 'external_service', true, 'BUSY'],
    ['LOADING Redis is loading the dataset in memory', 'external_service', true, 'LOADING'],
    ['MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to \'no\'.', 'external_service', true, 'MASTERDOWN'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'external_service', true, 'TRYAGAIN'],
    ["READONLY You can't write against a read only replica.", 'external_service', true, 'READONLY'],
    ['CLUSTERDOWN The cluster is down', 'external_service', true, 'CLUSTERDOWN'],
    ['MOVED 3999 127.0.0.1:6381', 'configuration', false, 'MOVED'],
    ['ASK 3999 127.0.0.1:6381', 'external_service', true, 'ASK'],
    ['NOSCRIPT No matching script. Please use EVAL.', 'not_found', false, 'NOSCRIPT'],
    ['EXECABORT Transaction discarded because of previous errors.', 'validation', false, 'EXECABORT'],
    ['BUSYGROUP Consumer Group name already exists', 'concurrency', false, 'BUSYGROUP'],
    ['MYMODULE something odd', 'unknown', false, 'MYMODULE'],
  ];
  for (const [message, category, transient, code] of table) {
    it(`${code}: ${message.slice(0, 40)} -> ${category}`, () => {
      for (const err of [new ReplyError(message), new ErrorReply(message), new SimpleError(message)]) {
        expect(classify(err), err.constructor.name).to.include({ category, transient, code, rule: 'builtin:redis.prefix' });
      }
    });
  }

  it('does not read a prefix off an arbitrary Error unless the adapter says the client is Redis', () => {
    expect(classify(new Error('OOM something')).rule).to.equal('builtin:fallback');
    expect(classify(new Error('OOM something'), { client: 'ioredis' }).category).to.equal('resource');
    expect(classify(new Error('MYMODULE x'), { client: 'redis' }).rule).to.equal('builtin:fallback'); // unknown prefix: not trusted
    expect(classify(new ReplyError('lower case reply')).rule).to.equal('builtin:fallback');
  });

  const clientErrors: Array<[string, Error, ErrorCategory, string]> = [
    ['ioredis Connection is closed.', new Error('Connection is closed.'), 'network', 'Error'],
    ['ioredis Command timed out', new Error('Command timed out'), 'timeout', 'timeout'],
    ['ioredis socketTimeout', new Error("Socket timeout. Expecting data, but didn't receive any in 100ms."), 'timeout', 'timeout'],
    ['ioredis connect ETIMEDOUT', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT', syscall: 'connect' }), 'timeout', 'ETIMEDOUT'],
  ];
  for (const [label, err, category, code] of clientErrors) {
    it(`${label} -> ${category}`, () => expect(classify(err)).to.include({ category, code }));
  }

  it('knows the clients\' error classes by (constructor) name', () => {
    class MaxRetriesPerRequestError extends Error {
      override get name(): string {
        return this.constructor.name;
      }
    }
    class ClientClosedError extends Error {}
    class SocketClosedUnexpectedlyError extends Error {}
    class ConnectionTimeoutError extends Error {}
    class TimeoutError extends Error {}
    class WatchError extends Error {}
    expect(classify(new MaxRetriesPerRequestError('Reached the max retries per request limit (which is 0).'))).to.include({ category: 'network', transient: true });
    expect(classify(new ClientClosedError('The client is closed'))).to.include({ category: 'network', code: 'ClientClosedError' });
    expect(classify(new SocketClosedUnexpectedlyError('Socket closed unexpectedly'))).to.include({ category: 'network' });
    expect(classify(new ConnectionTimeoutError('Connection timeout'))).to.include({ category: 'timeout', code: 'timeout' });
    expect(classify(new TimeoutError())).to.include({ category: 'timeout' }); // node-redis command timeout
    expect(classify(new WatchError('One (or more) of the watched keys has been changed'))).to.include({ category: 'concurrency', transient: true });
  });

  it("tells ioredis's redis-errors AbortError (connection closed) from a caller's abort", () => {
    class AbortError extends Error {
      override get name(): string {
        return this.constructor.name;
      }
    }
    expect(classify(new AbortError('Command aborted due to connection close')).category).to.equal('network');
    // node-redis's own AbortError is what a command's abortSignal produces.
    class NodeRedisAbortError extends Error {}
    Object.defineProperty(NodeRedisAbortError, 'name', { value: 'AbortError' });
    expect(classify(new NodeRedisAbortError('The command was aborted')).category).to.equal('cancelled');
  });
});
