import { SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
import {
  fullUrl,
  httpAttemptSpan,
  methodAttributes,
  redactPathAndQuery,
  redactQuery,
  responseMetricAttributes,
  serverOfTargetKey,
  userAgentOf,
} from '../../../instrumentations/http/attributes.js';
import { readRequestArgs } from '../../../instrumentations/http/request-options.js';
import { requestTarget, type RequestTarget } from '../../../instrumentations/http/request-target.js';

function targetOf(...args: unknown[]): RequestTarget {
  return requestTarget(readRequestArgs(args)!, 'http:')!;
}

function urlOf(...args: unknown[]): string | undefined {
  const call = readRequestArgs(args)!;
  return fullUrl(requestTarget(call, 'http:')!, call.url, call.options);
}

describe('http attempt span attributes', () => {
  it('server address and port come from the target key (no credentials can be there)', () => {
    expect(serverOfTargetKey('https://api.example.com:443')).to.deep.equal({ scheme: 'https', address: 'api.example.com', port: 443 });
    expect(serverOfTargetKey('http://[::1]:8080')).to.deep.equal({ scheme: 'http', address: '::1', port: 8080 });
    expect(serverOfTargetKey('http+unix://docker.sock-0a1b2c3d:0')).to.equal(undefined);
    expect(serverOfTargetKey('http://invalid:0')).to.equal(undefined);
  });

  it('named for the method, CLIENT unless told otherwise; the shared options are frozen and reused', () => {
    const shared = methodAttributes(targetOf('https://api.example.com/x'), 'GET');
    const span = httpAttemptSpan(shared, SpanKind.CLIENT, undefined, true);
    expect(span).to.deep.equal({
      name: 'GET',
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': 'GET', 'url.scheme': 'https', 'server.address': 'api.example.com', 'server.port': 443 },
      duration: { kind: 'http', attributes: { 'http.request.method': 'GET', 'server.address': 'api.example.com', 'server.port': 443 } },
    });
    expect(Object.isFrozen(span.attributes)).to.equal(true);
    expect(Object.isFrozen(span.duration!.attributes)).to.equal(true);
    expect(methodAttributes(targetOf('https://api.example.com/other?q=1'), 'GET')).to.equal(shared);
    expect(httpAttemptSpan(shared, SpanKind.INTERNAL, undefined, true).kind).to.equal(SpanKind.INTERNAL);
    expect(httpAttemptSpan(shared, SpanKind.CLIENT, undefined, false)).to.not.have.property('duration');
  });

  it('an unknown method is _OTHER with the original beside it; the span is named HTTP; a lower-case one keeps its original', () => {
    const purge = methodAttributes(targetOf({ socketPath: '/tmp/s.sock' }), 'PROPFIND');
    expect(purge.name).to.equal('HTTP');
    expect(purge.span).to.deep.equal({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND', 'url.scheme': 'http' });
    expect(methodAttributes(targetOf('http://a/'), 'get').span).to.include({ 'http.request.method': 'GET', 'http.request.method_original': 'get' });
    expect(methodAttributes(targetOf('http://a/'), 'QUERY').span).to.include({ 'http.request.method': 'QUERY' });
  });

  it('per request: url.full and user_agent.original are added to a copy, the shared attributes stay as they are', () => {
    const shared = methodAttributes(targetOf('http://a:8080/'), 'GET');
    const span = httpAttemptSpan(shared, SpanKind.CLIENT, { urlFull: 'http://a:8080/x', userAgent: 'ua/1' }, true);
    expect(span.attributes).to.include({ 'url.full': 'http://a:8080/x', 'user_agent.original': 'ua/1', 'server.port': 8080 });
    expect(shared.span).to.not.have.property('url.full');
  });

  it('url.full: scheme, host, a port other than the default, the path; every query value REDACTED, credentials as REDACTED:REDACTED@', () => {
    expect(urlOf('http://127.0.0.1:8080/a/b?token=s3cr3t&x=1')).to.equal('http://127.0.0.1:8080/a/b?token=REDACTED&x=REDACTED');
    expect(urlOf('https://alice:pw@Example.COM/p?q=1#frag')).to.equal('https://REDACTED:REDACTED@example.com/p?q=REDACTED');
    expect(urlOf('http://a')).to.equal('http://a/');
    expect(urlOf('http://a?x=1')).to.equal('http://a/?x=REDACTED');
    expect(urlOf('http://a/with space/../b?q="x"')).to.equal('http://a/b?q=REDACTED');
    expect(urlOf(new URL('http://u:p@[::1]:81/v?k=v'))).to.equal('http://REDACTED:REDACTED@[::1]:81/v?k=REDACTED');
    expect(urlOf({ hostname: 'h', port: 3000, path: '/o?secret=1', auth: 'u:p' })).to.equal('http://REDACTED:REDACTED@h:3000/o?secret=REDACTED');
    expect(urlOf({ host: 'h' })).to.equal('http://h/');
    expect(urlOf('http://a/x?y=1', { path: '/override?z=2' })).to.equal('http://a/override?z=REDACTED');
    expect(urlOf({ socketPath: '/var/run/docker.sock', path: '/v1/containers?all=1' })).to.equal('http://localhost/v1/containers?all=REDACTED');
  });

  it('query redaction keeps keys and separators, and parameters without a value', () => {
    expect(redactQuery('a=1&b=&c&d=x=y')).to.equal('a=REDACTED&b=&c&d=REDACTED');
    expect(redactQuery('')).to.equal('');
    expect(redactPathAndQuery('/p')).to.equal('/p');
    expect(redactPathAndQuery('/p?')).to.equal('/p?');
  });

  it('user_agent.original from the options\' headers, any case, either form', () => {
    expect(userAgentOf({ 'User-Agent': 'ua/1', Authorization: 'x' })).to.equal('ua/1');
    expect(userAgentOf(['user-agent', 'ua/2', 'cookie', 'c'])).to.equal('ua/2');
    expect(userAgentOf([['USER-AGENT', 'ua/3']])).to.equal('ua/3');
    expect(userAgentOf({ accept: '*/*' })).to.equal(undefined);
    expect(userAgentOf(undefined)).to.equal(undefined);
  });

  it('the duration point\'s response attributes: the status, error.type for 4xx/5xx, the protocol version when there was a socket', () => {
    expect(responseMetricAttributes(200, '1.1')).to.deep.equal({ 'http.response.status_code': 200, 'network.protocol.version': '1.1' });
    expect(responseMetricAttributes(503, '1.1')).to.deep.equal({ 'http.response.status_code': 503, 'network.protocol.version': '1.1', 'error.type': '503' });
    expect(responseMetricAttributes(404, undefined)).to.deep.equal({ 'http.response.status_code': 404, 'error.type': '404' });
    expect(responseMetricAttributes(200, '1.1')).to.equal(responseMetricAttributes(200, '1.1'));
  });
});
