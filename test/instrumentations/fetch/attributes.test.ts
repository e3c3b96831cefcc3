import { SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
import { fetchAttemptSpan, fetchSentMethod, responseAttributes, serverOfTargetKey } from '../../../instrumentations/fetch/attributes.js';

describe('fetchAttemptSpan', () => {
  it('names the span for the method, records the method as sent, reads server and scheme from the target key only', () => {
    expect(fetchAttemptSpan('GET', 'https://api.example.com:443')).to.deep.equal({
      name: 'GET',
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'GET',
        'http.request.method_original': 'GET',
        'url.scheme': 'https',
        'server.address': 'api.example.com',
        'server.port': 443,
      },
      duration: { kind: 'http', attributes: { 'http.request.method': 'GET', 'url.scheme': 'https', 'server.address': 'api.example.com', 'server.port': 443 } },
    });
    expect(fetchAttemptSpan('patch', 'http://a:80').attributes).to.include({ 'http.request.method': 'PATCH', 'http.request.method_original': 'patch' });
    expect(fetchAttemptSpan('PURGE', 'http://[::1]:8080', SpanKind.INTERNAL)).to.deep.include({ name: 'HTTP', kind: SpanKind.INTERNAL });
    expect(fetchAttemptSpan('PURGE', 'http://[::1]:8080').attributes).to.include({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PURGE' });
    expect(serverOfTargetKey('http://[::1]:8080')).to.deep.equal({ scheme: 'http', address: '::1', port: 8080 });
    expect(serverOfTargetKey('http+unix://docker.sock-1a2b3c4d:0')).to.equal(undefined);
    expect(serverOfTargetKey('https://other:0')).to.equal(undefined);
  });

  it('shared and frozen per target and method; without the duration metric when asked', () => {
    const a = fetchAttemptSpan('GET', 'http://b:81');
    expect(fetchAttemptSpan('GET', 'http://b:81')).to.equal(a);
    expect(Object.isFrozen(a.attributes)).to.equal(true);
    expect(Object.isFrozen(a.duration!.attributes)).to.equal(true);
    expect(fetchAttemptSpan('GET', 'http://b:81', SpanKind.CLIENT, false)).to.not.have.property('duration');
  });

  it('fetch upper-cases the standard methods only, as the Fetch standard says', () => {
    expect(['get', 'Post', 'delete', 'patch', 'purge'].map(fetchSentMethod)).to.deep.equal(['GET', 'POST', 'DELETE', 'patch', 'purge']);
  });

  it('response attributes: the status, error.type = the status for 4xx and 5xx', () => {
    expect(responseAttributes(200).span).to.deep.equal({ 'http.response.status_code': 200 });
    expect(responseAttributes(503).metric).to.deep.equal({ 'http.response.status_code': 503, 'error.type': '503' });
    expect(responseAttributes(404)).to.equal(responseAttributes(404));
  });
});
