import { expect } from 'chai';
import { flatHeaders, hasHeader, headersForAttempt, headerSetter, isPassThroughRequest, mergedOptions, readRequestArgs, requestMethod } from '../../../instrumentations/http/request-options.js';
import { requestTarget } from '../../../instrumentations/http/request-target.js';

describe('http request options', () => {
  const cb = () => undefined;

  describe('readRequestArgs reads the arguments as Node does', () => {
    it('a URL string, with options over it and a callback; mergedOptions is what Node builds of them', () => {
      const call = readRequestArgs(['http://u:p@example.com:8080/a/b?q=1', { method: 'POST', headers: { a: '1' } }, cb])!;
      expect(call.callback).to.equal(cb);
      expect(call.url).to.equal('http://u:p@example.com:8080/a/b?q=1');
      expect(call.options).to.deep.equal({ method: 'POST', headers: { a: '1' } });
      expect(mergedOptions(call)).to.include({ protocol: 'http:', hostname: 'example.com', port: 8080, path: '/a/b?q=1', method: 'POST', auth: 'u:p' });
    });

    it('a URL object and a callback', () => {
      const url = new URL('https://example.com/x');
      const call = readRequestArgs([url, cb])!;
      expect(call.callback).to.equal(cb);
      expect(call.url).to.equal(url);
      expect(mergedOptions(call)).to.include({ protocol: 'https:', hostname: 'example.com', path: '/x' });
    });

    it('options only: a copy, never the caller\'s object, without the signal (kept apart)', () => {
      const signal = new AbortController().signal;
      const options = { host: 'h', port: 1 };
      const call = readRequestArgs([{ ...options, signal }])!;
      expect(call.options).to.deep.equal(options);
      expect(call.signal).to.equal(signal);
      expect(call.url).to.equal(undefined);
      expect(call.callback).to.equal(undefined);
      const plain = readRequestArgs([options])!;
      expect(plain.options).to.not.equal(options);
    });

    it('nothing at all means {}', () => {
      expect(readRequestArgs([])!.options).to.deep.equal({});
    });

    it('arguments Node rejects are left to Node (undefined); a URL string Node rejects has no target', () => {
      expect(readRequestArgs([{}, 'not a callback'])).to.equal(undefined);
      expect(readRequestArgs(['http://a/', 42])).to.equal(undefined);
      expect(requestTarget(readRequestArgs(['not a url'])!, 'http:')).to.equal(undefined);
      expect(() => mergedOptions(readRequestArgs(['not a url'])!)).to.throw(TypeError);
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
