import { SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
import { httpAttemptSpan, serverOfTargetKey } from '../../../instrumentations/http/attributes.js';

describe('http attempt span attributes', () => {
  it('server address and port come from the target key (no credentials can be there)', () => {
    expect(serverOfTargetKey('https://api.example.com:443')).to.deep.equal({ scheme: 'https', address: 'api.example.com', port: 443 });
    expect(serverOfTargetKey('http://[::1]:8080')).to.deep.equal({ scheme: 'http', address: '::1', port: 8080 });
    expect(serverOfTargetKey('http+unix://docker.sock-0a1b2c3d:0')).to.equal(undefined);
    expect(serverOfTargetKey('http://invalid:0')).to.equal(undefined);
  });

  it('named for the method, CLIENT unless told otherwise', () => {
    const span = httpAttemptSpan('GET', 'https', 'https://api.example.com:443');
    expect(span).to.deep.equal({
      name: 'GET',
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': 'GET', 'url.scheme': 'https', 'server.address': 'api.example.com', 'server.port': 443 },
    });
    expect(httpAttemptSpan('PATCH', 'http', 'http://a:80', SpanKind.INTERNAL).kind).to.equal(SpanKind.INTERNAL);
  });

  it('an unknown method is _OTHER with the original beside it; the span is named HTTP', () => {
    const span = httpAttemptSpan('PROPFIND', 'http', 'http+unix://s-00000000:0');
    expect(span.name).to.equal('HTTP');
    expect(span.attributes).to.deep.equal({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND', 'url.scheme': 'http' });
  });
});
