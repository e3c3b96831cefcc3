import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { isConnectFailure } from '../../instrumentations/connect-failure.js';

const sysError = (code: string, syscall?: string): Error => Object.assign(new Error(`${syscall ?? 'x'} ${code}`), syscall ? { code, syscall } : { code });

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('isConnectFailure', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['ECONNREFUSED', sysError('ECONNREFUSED', 'connect'), true],
    ['ETIMEDOUT from connect()', sysError('ETIMEDOUT', 'connect'), true],
    ['EHOSTUNREACH from connect()', sysError('EHOSTUNREACH', 'connect'), true],
    ['ENOTFOUND', sysError('ENOTFOUND', 'getaddrinfo'), true],
    ['EAI_AGAIN', sysError('EAI_AGAIN', 'getaddrinfo'), true],
    ['undici connect timeout', sysError('UND_ERR_CONNECT_TIMEOUT'), true],
    ['happy eyeballs timeout', sysError('ERR_SOCKET_CONNECTION_TIMEOUT'), true],
    ["fetch failed, caused by a refusal", new TypeError('fetch failed', { cause: sysError('ECONNREFUSED', 'connect') }), true],
    ['a refusal on every address (AggregateError)', new AggregateError([sysError('ECONNREFUSED', 'connect'), sysError('ECONNREFUSED', 'connect')]), true],
    ['ECONNRESET (maybe after the request was written)', sysError('ECONNRESET', 'read'), false],
    ['EPIPE', sysError('EPIPE', 'write'), false],
    ['ETIMEDOUT without connect()', sysError('ETIMEDOUT'), false],
    ['socket hang up', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), false],
    ['undici socket error', sysError('UND_ERR_SOCKET'), false],
    ['a plain error', new Error('boom'), false],
    ['a string', 'ECONNREFUSED', false],
    ['null', null, false],
  ];
  for (const [label, failure, expected] of cases) {
    it(`${label}: ${expected}`, () => expect(isConnectFailure(failure)).to.equal(expected));
  }

  it('never throws on hostile objects', () => {
    const hostile = new Proxy({}, { get: () => { throw new Error('trap'); }, getPrototypeOf: () => { throw new Error('trap'); } });
    expect(isConnectFailure(hostile)).to.equal(false);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(isConnectFailure(proxy)).to.equal(false);
  });

  it('recognises what node:http and fetch really throw for a refused connection', async () => {
    const port = await closedPort();
    const httpError = await new Promise<unknown>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST' });
      req.on('error', resolve);
      req.end('body');
    });
    expect(isConnectFailure(httpError)).to.equal(true);
    const fetchError = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isConnectFailure(fetchError)).to.equal(true);
  });
});
