import { expect } from 'chai';
import { classify } from '../../src/classify/classify.js';
import type { ErrorCategory, Severity } from '../../src/classify/types.js';

function sysError(code: string, message = `connect ${code} 10.0.0.1:443`): Error {
  return Object.assign(new Error(message), { code, errno: -1, syscall: 'connect' });
}

describe('classify: Node system, TLS and undici codes', () => {
  const table: Array<[string, ErrorCategory, boolean, Severity]> = [
    ['ECONNREFUSED', 'network', true, 'medium'],
    ['ECONNRESET', 'network', true, 'medium'],
    ['EPIPE', 'network', true, 'medium'],
    ['ECONNABORTED', 'network', true, 'medium'],
    ['EHOSTUNREACH', 'network', true, 'medium'],
    ['ENETUNREACH', 'network', true, 'medium'],
    ['EAI_AGAIN', 'network', true, 'medium'],
    ['ETIMEDOUT', 'timeout', true, 'medium'],
    ['ESOCKETTIMEDOUT', 'timeout', true, 'medium'],
    ['ENOTFOUND', 'configuration', false, 'high'],
    ['ERR_INVALID_URL', 'configuration', false, 'high'],
    ['CERT_HAS_EXPIRED', 'configuration', false, 'critical'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'configuration', false, 'critical'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'configuration', false, 'critical'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'configuration', false, 'critical'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'configuration', false, 'critical'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'configuration', false, 'critical'], // by family
    ['ERR_TLS_HANDSHAKE_TIMEOUT', 'timeout', true, 'medium'],
    ['EMFILE', 'resource', true, 'medium'],
    ['ENFILE', 'resource', true, 'medium'],
    ['ENOMEM', 'resource', true, 'medium'],
    ['ENOBUFS', 'resource', true, 'medium'],
    ['HPE_INVALID_CONSTANT', 'external_service', false, 'medium'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout', true, 'medium'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout', true, 'medium'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout', true, 'medium'],
    ['UND_ERR_SOCKET', 'network', true, 'medium'],
    ['UND_ERR_CLOSED', 'network', true, 'medium'],
    ['UND_ERR_DESTROYED', 'network', true, 'medium'],
    ['UND_ERR_INVALID_ARG', 'validation', false, 'low'],
    ['UND_ERR_ABORTED', 'cancelled', false, 'info'],
    ['ABORT_ERR', 'cancelled', false, 'info'],
  ];
  for (const [code, category, transient, severity] of table) {
    it(`${code} -> ${category} (${severity})`, () => {
      expect(classify(sysError(code))).to.include({ category, transient, severity, code });
    });
  }

  it("node:http's socket hang up (ECONNRESET) is network", () => {
    expect(classify(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).to.include({ category: 'network', code: 'ECONNRESET', rule: 'builtin:node.code' });
  });

  it("undici's HTTPParserError without a code (Node 24's fetch) is external_service by name", () => {
    const parse = Object.assign(new Error('Response does not match the HTTP/1.1 protocol'), { name: 'HTTPParserError', code: undefined });
    expect(classify(new TypeError('fetch failed', { cause: parse }))).to.include({ category: 'external_service', transient: false, code: 'HTTPParserError' });
  });

  it('classifies undici status errors by their statusCode, not their code', () => {
    const v6 = Object.assign(new Error('Response status code 503: Service Unavailable'), { code: 'UND_ERR_RESPONSE_STATUS_CODE', statusCode: 503, headers: { 'retry-after': '4' } });
    expect(classify(v6)).to.include({ category: 'external_service', code: '503', retryAfterMs: 4000 });
    const v7 = Object.assign(new Error('Response Error'), { name: 'ResponseError', code: 'UND_ERR_RESPONSE', statusCode: 404 });
    expect(classify(v7)).to.include({ category: 'not_found', code: '404' });
  });
});

describe('classify: abort and timeout', () => {
  it('AbortSignal.timeout() reason (DOMException TimeoutError) is a timeout with code "timeout"', async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const reason: unknown = signal.reason;
    expect((reason as Error).name).to.equal('TimeoutError');
    expect(classify(reason)).to.include({ category: 'timeout', transient: true, code: 'timeout' });
  });

  it('an AbortError with no cause is cancelled (info, not transient)', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classify(controller.signal.reason)).to.include({ category: 'cancelled', severity: 'info', transient: false, code: 'AbortError', rule: 'builtin:abort' });
  });

  it("node:http's AbortError whose cause is a TimeoutError is a timeout", () => {
    const cause = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const err = Object.assign(new Error('The operation was aborted', { cause }), { name: 'AbortError', code: 'ABORT_ERR' });
    expect(classify(err).category).to.equal('timeout');
  });

  it('UND_ERR_ABORTED whose cause is a timeout is a timeout', () => {
    const err = Object.assign(new Error('Request aborted', { cause: new DOMException('t', 'TimeoutError') }), { name: 'AbortError', code: 'UND_ERR_ABORTED' });
    expect(classify(err).category).to.equal('timeout');
  });

  it("the caller's own signal: its reason, or an AbortError caused by it, is cancelled even when it is a timeout", async () => {
    const callerSignal = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(classify(callerSignal.reason, { callerSignal })).to.include({ category: 'cancelled', code: 'TimeoutError' });
    const wrapped = Object.assign(new Error('The operation was aborted', { cause: callerSignal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
    expect(classify(wrapped, { callerSignal }).category).to.equal('cancelled');
    // The same kind of error from another signal stays a timeout.
    const other = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(classify(other.reason, { callerSignal }).category).to.equal('timeout');
  });

  it('a caller abort with a custom reason is cancelled; an unaborted caller signal changes nothing', () => {
    const controller = new AbortController();
    const reason = new Error('user navigated away');
    controller.abort(reason);
    expect(classify(reason, { callerSignal: controller.signal }).category).to.equal('cancelled');
    expect(classify('gone', { callerSignal: AbortSignal.abort('gone') }).category).to.equal('cancelled');
    const idle = new AbortController();
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' }), { callerSignal: idle.signal }).category).to.equal('network');
  });
});

describe('classify: runtime errors and fetch', () => {
  for (const Ctor of [TypeError, RangeError, ReferenceError, SyntaxError]) {
    it(`${Ctor.name} from user code is system (high)`, () => {
      expect(classify(new Ctor('x is not a function'))).to.include({ category: 'system', severity: 'high', transient: false, code: Ctor.name, rule: 'builtin:runtime' });
    });
  }

  it("uses a runtime error's own code when it has one", () => {
    const err = Object.assign(new TypeError('The "url" argument must be of type string'), { code: 'ERR_INVALID_ARG_TYPE' });
    expect(classify(err)).to.include({ category: 'system', code: 'ERR_INVALID_ARG_TYPE' });
  });

  it("fetch's TypeError('fetch failed') is classified by its cause", () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classify(new TypeError('fetch failed', { cause }))).to.include({ category: 'network', code: 'ECONNREFUSED' });
    const timeout = Object.assign(new Error('Headers Timeout Error'), { name: 'HeadersTimeoutError', code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(classify(new TypeError('fetch failed', { cause: timeout }))).to.include({ category: 'timeout', code: 'UND_ERR_HEADERS_TIMEOUT' });
  });

  it("fetch failed with a cause nobody knows is network, never system", () => {
    expect(classify(new TypeError('fetch failed', { cause: new Error('weird') }))).to.include({ category: 'network', rule: 'builtin:fetch.failed' });
    expect(classify(new TypeError('fetch failed'))).to.include({ category: 'network' });
  });
});
