import { expect } from 'chai';
import fc from 'fast-check';
import http from 'node:http';
import { mergedOptions, readRequestArgs } from '../../../instrumentations/http/request-options.js';
import { clearRequestTargets, requestTarget } from '../../../instrumentations/http/request-target.js';
import { httpTargetKey } from '../../../src/target-key.js';

/** What the target key would be without the cache: Node's merge of the arguments, then target-key.ts. */
function uncachedKey(args: unknown[], defaultProtocol: 'http:' | 'https:'): string | undefined {
  const call = readRequestArgs(args)!;
  let merged: Record<string, unknown>;
  try {
    merged = mergedOptions(call);
  } catch {
    return undefined;
  }
  return httpTargetKey(merged, defaultProtocol);
}

function keyOf(args: unknown[], defaultProtocol: 'http:' | 'https:' = 'http:'): string | undefined {
  return requestTarget(readRequestArgs(args)!, defaultProtocol)?.key;
}

describe('http request targets (one per origin, cached)', () => {
  beforeEach(() => clearRequestTargets());

  it('one target object per origin, whatever the path or query', () => {
    const first = requestTarget(readRequestArgs(['http://api.local:8080/a?x=1'])!, 'http:')!;
    const second = requestTarget(readRequestArgs(['http://api.local:8080/b/c?token=2#f'])!, 'http:')!;
    expect(second).to.equal(first);
    expect(first).to.deep.include({ key: 'http://api.local:8080', scheme: 'http', authority: 'api.local:8080', server: { scheme: 'http', address: 'api.local', port: 8080 } });
    const viaOptions = requestTarget(readRequestArgs([{ hostname: 'api.local', port: 8080, path: '/z' }])!, 'http:')!;
    expect(viaOptions.key).to.equal(first.key);
    expect(requestTarget(readRequestArgs([{ hostname: 'api.local', port: 8080, path: '/y?q=1' }])!, 'http:')).to.equal(viaOptions);
  });

  it('a URL Node rejects has no target (Node throws its own error); nor does a bad one once a good one of the same host was seen', () => {
    expect(keyOf(['http://good.local/'])).to.equal('http://good.local:80');
    expect(keyOf(['http://good.local:99999/'])).to.equal(undefined);
    expect(keyOf(['http://'])).to.equal(undefined);
    expect(keyOf(['not a url'])).to.equal(undefined);
  });

  it('credentials never reach a cache key: such calls are computed each time, and the key has none', () => {
    expect(keyOf(['http://alice:pw@h.local/'])).to.equal('http://h.local:80');
    expect(keyOf([{ host: 'bob@h.local', port: 81 }])).to.equal('http://h.local:81');
  });

  it('the options, the agent and the module\'s default protocol count, as Node counts them', () => {
    expect(keyOf(['http://h.local/'], 'https:')).to.equal('http://h.local:80');
    expect(keyOf([{ hostname: 'h.local' }], 'https:')).to.equal('https://h.local:443');
    expect(keyOf(['http://h.local/', { port: 81 }])).to.equal('http://h.local:81');
    expect(keyOf(['http://h.local/', { agent: Object.assign(new http.Agent(), { defaultPort: 8000 }) }])).to.equal('http://h.local:8000');
    expect(keyOf([{ hostname: 'h.local', agent: Object.assign(new http.Agent(), { defaultPort: 8000 }) }])).to.equal('http://h.local:8000');
    expect(keyOf([{ hostname: 'h.local', agent: Object.assign(new http.Agent(), { protocol: 'https:', defaultPort: 443 }) }])).to.equal('https://h.local:443');
    expect(keyOf([{ socketPath: '/var/run/docker.sock' }])).to.match(/^http\+unix:\/\/docker\.sock-[0-9a-f]{8}:0$/);
  });

  it('property: the cached key is always the key target-key.ts computes from Node\'s merge of the same arguments', () => {
    const host = fc.constantFrom('a.local', 'A.Local', 'b.local.', '127.0.0.1', '[::1]', 'xn--bcher-kva.example', 'bad host', '', 'u:p@c.local', 'münchen.de');
    const port = fc.option(fc.constantFrom('80', '443', '8080', '0', '65536', 'x'), { nil: undefined });
    const scheme = fc.constantFrom('http', 'https', 'HTTP', 'ftp');
    const path = fc.constantFrom('', '/', '/a?b=1', '?q', '/x y', '#f', '/./a/../b', '\\back');
    const urlString = fc.tuple(scheme, host, port, path).map(([s, h, p, rest]) => `${s}://${h}${p === undefined ? '' : `:${p}`}${rest}`);
    const optionValue = fc.record(
      {
        hostname: fc.constantFrom('a.local', 'c.local', undefined),
        host: fc.constantFrom('a.local:81', 'd.local', undefined),
        port: fc.constantFrom(81, '82', 0, undefined),
        protocol: fc.constantFrom('http:', 'https:', undefined),
        defaultPort: fc.constantFrom(8443, undefined),
        path: fc.constantFrom('/p?q=1', undefined),
        agent: fc.constantFrom(undefined, false, { defaultPort: 9000 }, { protocol: 'https:' }),
      },
      { requiredKeys: [] },
    );
    const args = fc.oneof(
      fc.tuple(urlString).map(([u]) => [u] as unknown[]),
      fc.tuple(urlString, optionValue).map(([u, o]) => [u, o] as unknown[]),
      fc.tuple(optionValue).map(([o]) => [o] as unknown[]),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(args, fc.constantFrom('http:' as const, 'https:' as const)), { minLength: 1, maxLength: 20 }), (calls) => {
        clearRequestTargets();
        // Twice over: the second round is served from the cache the first filled.
        for (let round = 0; round < 2; round++) {
          for (const [callArgs, defaultProtocol] of calls) expect(keyOf(callArgs, defaultProtocol)).to.equal(uncachedKey(callArgs, defaultProtocol));
        }
      }),
      { numRuns: 300 },
    );
  });
});
