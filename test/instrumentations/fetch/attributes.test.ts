import { SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
import { fetchAttemptSpan, serverOfTargetKey } from '../../../instrumentations/fetch/attributes.js';

describe('fetchAttemptSpan', () => {
  it('names the span for the method, reads server and scheme from the target key only', () => {
    expect(fetchAttemptSpan('get', 'https://api.example.com:443')).to.deep.equal({
      name: 'GET',
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'GET',
        'http.request.method_original': 'get',
        'url.scheme': 'https',
        'server.address': 'api.example.com',
        'server.port': 443,
      },
    });
    expect(fetchAttemptSpan('PURGE', 'http://[::1]:8080', SpanKind.INTERNAL)).to.deep.include({ name: 'HTTP', kind: SpanKind.INTERNAL });
    expect(serverOfTargetKey('http://[::1]:8080')).to.deep.equal({ scheme: 'http', address: '::1', port: 8080 });
    expect(serverOfTargetKey('http+unix://docker.sock-1a2b3c4d:0')).to.equal(undefined);
    expect(serverOfTargetKey('https://other:0')).to.equal(undefined);
  });
});
