import { expect } from 'chai';
import { flatHeaders, hasHeader, headersForAttempt, headerSetter, isPassThroughRequest, readRequestArgs, requestMethod } from '../../../instrumentations/http/request-options.js';

describe('http request options', () => {
  const cb = () => undefined;

  describe('readRequestArgs reads the arguments as Node does', () => {
    it('a URL string, with options over it and a callback', () => {
      const call = readRequestArgs(['http://u:p@example.com:8080/a/b?q=1', { method: 'POST', headers: { a: '1' } }, cb])!;
      expect(call.callback).to.equal(cb);
      expect(call.options).to.include({ protocol: 'http:', hostname: 'example.com', port: 8080, path: '/a/b?q=1', method: 'POST', auth: 'u:p' });
      expect(call.options.headers).to.deep.equal({ a: '1' });
    });

    it('a URL object and a callback', () => {
      const call = readRequestArgs([new URL('https://example.com/x'), cb])!;
      expect(call.callback).to.equal(cb);
      expect(call.options).to.include({ protocol: 'https:', hostname: 'example.com', path: '/x' });
    });

    it('options only: a copy, never the caller\'s object', () => {
      const options = { host: 'h', port: 1 };
      const call = readRequestArgs([options])!;
      expect(call.options).to.deep.equal(options);
      expect(call.options).to.not.equal(options);
      expect(call.callback).to.equal(undefined);
    });

    it('nothing at all means {}', () => {
      expect(readRequestArgs([])!.options).to.deep.equal({});
    });

    it('arguments Node rejects are left to Node (undefined)', () => {
      expect(readRequestArgs(['not a url'])).to.equal(undefined);
      expect(readRequestArgs([{}, 'not a callback'])).to.equal(undefined);
      expect(readRequestArgs(['http://a/', 42])).to.equal(undefined);
    });
  });

  it('requestMethod upper-cases, defaults to GET, refuses non-strings', () => {
    expect([requestMethod({}), requestMethod({ method: 'post' }), requestMethod({ method: 7 })]).to.deep.equal(['GET', 'POST', undefined]);
  });

  it('pass-through: CONNECT, an Upgrade header in either form, raw headers of odd length', () => {
    expect(isPassThroughRequest({}, 'CONNECT')).to.equal(true);
    expect(isPassThroughRequest({ headers: { UPGRADE: 'websocket' } }, 'GET')).to.equal(true);
    expect(isPassThroughRequest({ headers: ['Upgrade', 'h2c'] }, 'GET')).to.equal(true);
    expect(isPassThroughRequest({ headers: [['upgrade', 'h2c']] }, 'GET')).to.equal(true);
    expect(isPassThroughRequest({ headers: ['a'] }, 'GET')).to.equal(true);
    expect(isPassThroughRequest({ headers: { connection: 'keep-alive' } }, 'POST')).to.equal(false);
  });

  it('flatHeaders and hasHeader read both raw forms', () => {
    expect(flatHeaders([['a', '1'], ['b', '2']])).to.deep.equal(['a', '1', 'b', '2']);
    expect(flatHeaders(['a', '1'])).to.deep.equal(['a', '1']);
    expect(flatHeaders(['a'])).to.equal(undefined);
    expect(hasHeader({ 'Idempotency-Key': 'k' }, 'idempotency-key')).to.equal(true);
    expect(hasHeader(null, 'x')).to.equal(false);
  });

  it('headersForAttempt drops trace headers left by an earlier inject, keeps the rest and the form', () => {
    const object = { traceparent: 'old', TraceState: 'old', 'x-a': '1' };
    const copy = headersForAttempt(object);
    expect(copy).to.deep.equal({ 'x-a': '1' });
    expect(copy).to.not.equal(object);
    headerSetter.set(copy, 'traceparent', 'new');
    expect(copy).to.deep.equal({ 'x-a': '1', traceparent: 'new' });
    const raw = headersForAttempt(['Traceparent', 'old', 'x-b', '2']);
    headerSetter.set(raw, 'traceparent', 'new');
    expect(raw).to.deep.equal(['x-b', '2', 'traceparent', 'new']);
    expect(headersForAttempt(undefined)).to.deep.equal({});
  });
});
