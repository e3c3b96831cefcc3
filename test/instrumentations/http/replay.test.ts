import { expect } from 'chai';
import fc from 'fast-check';
import net from 'node:net';
import { Readable } from 'node:stream';
import {
  hasIdempotencyKey,
  httpReplayDecision,
  IDEMPOTENT_METHODS,
  isIdempotentMethod,
  isReplayableBody,
  MAX_REPLAYABLE_BODY_BYTES,
} from '../../../instrumentations/http/replay.js';

const MAX = MAX_REPLAYABLE_BODY_BYTES;
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' });
const reset = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });

function streamBodies(): Array<[string, () => unknown]> {
  return [
    ['a Node Readable', () => Readable.from(['a', 'b'])],
    ['a ReadableStream', () => new ReadableStream({ start: (c) => c.close() })],
    [
      'an async iterable',
      () =>
        (async function* () {
          yield 'a';
        })(),
    ],
    [
      'a sync generator (undici reads it once)',
      () =>
        (function* () {
          yield Buffer.from('a');
        })(),
    ],
    ['a plain object', () => ({ a: 1 })],
    ['a function', () => () => 'x'],
  ];
}

describe('http replay: methods', () => {
  const cases: Array<[unknown, boolean]> = [
    ['GET', true],
    ['get', true],
    ['Head', true],
    ['OPTIONS', true],
    ['trace', true],
    ['PUT', true],
    ['delete', true],
    [undefined, true], // the default method is GET
    [null, true],
    ['POST', false],
    ['PATCH', false],
    ['CONNECT', false],
    ['QUERY', false],
    ['', false],
    [42, false],
  ];
  for (const [method, expected] of cases) {
    it(`${String(method)}: ${expected}`, () => {
      expect(isIdempotentMethod(method)).to.equal(expected);
      expect(httpReplayDecision({ method })).to.equal(expected ? true : 'not_idempotent');
    });
  }
});

describe('http replay: Idempotency-Key', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['a plain object, mixed case', { 'Idempotency-Key': 'abc' }, true],
    ['a plain object, lower case (getHeaders())', { 'idempotency-key': 'abc' }, true],
    ['an array value', { 'IDEMPOTENCY-KEY': ['abc'] }, true],
    ['a number value', { 'idempotency-key': 7 }, true],
    ['an empty value', { 'idempotency-key': '  ' }, false],
    ['an empty array value', { 'idempotency-key': [] }, false],
    ['another header', { 'X-Idempotency-Key': 'abc' }, false],
    ['pairs', [['content-type', 'text/plain'], ['Idempotency-Key', 'abc']], true],
    ['a flat array (node:http, undici raw)', ['content-type', 'text/plain', 'Idempotency-Key', 'abc'], true],
    ['a flat array of Buffers', [Buffer.from('Idempotency-Key'), Buffer.from('abc')], true],
    ['a flat array: a value that looks like the name', ['x-note', 'idempotency-key'], false],
    ['a Headers instance', new Headers({ 'Idempotency-Key': 'abc' }), true],
    ['a Headers instance without it', new Headers({ accept: '*/*' }), false],
    ['a Map (case-sensitive get)', new Map([['Idempotency-Key', 'abc']]), true],
    ['none', undefined, false],
    ['a string', 'Idempotency-Key: abc', false],
  ];
  for (const [label, headers, expected] of cases) {
    it(`${label}: ${expected}`, () => {
      expect(hasIdempotencyKey(headers)).to.equal(expected);
      expect(httpReplayDecision({ method: 'POST', headers })).to.equal(expected ? true : 'not_idempotent');
    });
  }

  it('never throws on hostile headers', () => {
    const boom = (): never => {
      throw new Error('trap');
    };
    for (const headers of [new Proxy({}, { get: boom, ownKeys: boom }), { get: boom }, [new Proxy([], { get: boom })]]) {
      expect(hasIdempotencyKey(headers)).to.equal(false);
      expect(httpReplayDecision({ method: 'POST', headers })).to.equal('not_idempotent');
    }
  });
});

describe('http replay: bodies', () => {
  const replayable: Array<[string, unknown]> = [
    ['none', undefined],
    ['null', null],
    ['an empty string', ''],
    ['a string', '{"a":1}'],
    ['a string of exactly the limit in UTF-8', 'é'.repeat(MAX / 2)],
    ['a Buffer', Buffer.alloc(1024)],
    ['a Uint8Array', new Uint8Array(MAX)],
    ['a DataView', new DataView(new ArrayBuffer(8))],
    ['an ArrayBuffer', new ArrayBuffer(16)],
    ['URLSearchParams', new URLSearchParams({ a: '1', b: '2' })],
    ['a Blob', new Blob(['abc'])],
    ['a File', new File(['abc'], 'a.txt')],
    ['a Blob-like by shape', { size: 3, arrayBuffer: async () => new ArrayBuffer(3), slice: () => undefined }],
    ['a FormData of strings and Blobs', (() => { const f = new FormData(); f.append('a', '1'); f.append('file', new Blob(['x']), 'x.txt'); return f; })()],
    ['chunks kept from req.write()', ['a', Buffer.from('b'), new Uint8Array(2)]],
    ['a number', 5],
  ];
  const notReplayable: Array<[string, unknown]> = [
    ['a string over the limit', 'x'.repeat(MAX + 1)],
    ['a string over the limit only in UTF-8', 'é'.repeat(MAX / 2 + 1)],
    ['a Buffer over the limit', Buffer.alloc(MAX + 1)],
    ['an ArrayBuffer over the limit', new ArrayBuffer(MAX + 1)],
    ['a Blob over the limit', new Blob([new Uint8Array(MAX + 1)])],
    ['a FormData over the limit', (() => { const f = new FormData(); f.append('file', new Blob([new Uint8Array(MAX)]), 'big'); f.append('a', 'b'); return f; })()],
    ['chunks over the limit', [Buffer.alloc(MAX), 'x']],
    ['chunks with a stream among them', ['a', Readable.from(['b'])]],
    ['a symbol', Symbol('body')],
  ];
  for (const [label, body] of replayable) {
    it(`replayable: ${label}`, () => {
      expect(isReplayableBody(body)).to.equal(true);
      expect(httpReplayDecision({ method: 'PUT', body })).to.equal(true);
    });
  }
  for (const [label, body] of notReplayable) {
    it(`sent once: ${label}`, () => {
      expect(isReplayableBody(body)).to.equal(false);
      expect(httpReplayDecision({ method: 'PUT', body })).to.equal('not_idempotent');
    });
  }
  for (const [label, make] of streamBodies()) {
    it(`sent once: ${label}`, () => {
      expect(isReplayableBody(make())).to.equal(false);
      expect(httpReplayDecision({ method: 'GET', body: make(), headers: { 'idempotency-key': 'k' } })).to.equal('not_idempotent');
    });
  }

  it('a smaller limit can be asked for', () => {
    expect(isReplayableBody('abcd', 3)).to.equal(false);
    expect(isReplayableBody('abc', 3)).to.equal(true);
  });

  it('never throws on hostile bodies', () => {
    const boom = (): never => {
      throw new Error('trap');
    };
    const hostile = new Proxy({}, { get: boom, getPrototypeOf: boom, has: boom });
    expect(isReplayableBody(hostile)).to.equal(false);
    expect(httpReplayDecision({ method: 'GET', body: hostile })).to.equal('not_idempotent');
    expect(httpReplayDecision(hostile as never)).to.equal('not_idempotent');
  });
});

describe('http replay: a request that never left', () => {
  it('a POST whose connection was refused may be sent again; one reset after sending may not', () => {
    expect(httpReplayDecision({ method: 'POST', body: 'x', failure: refused() })).to.equal(true);
    expect(httpReplayDecision({ method: 'POST', body: 'x', failure: new TypeError('fetch failed', { cause: refused() }) })).to.equal(true);
    expect(httpReplayDecision({ method: 'POST', body: 'x', failure: reset() })).to.equal('not_idempotent');
    expect(httpReplayDecision({ method: 'POST', body: 'x' })).to.equal('not_idempotent');
  });

  it('but never with a body that cannot be sent again', () => {
    expect(httpReplayDecision({ method: 'POST', body: Readable.from(['x']), failure: refused() })).to.equal('not_idempotent');
  });

  it("with fetch's real error for a refused connection", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const failure = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(httpReplayDecision({ method: 'POST', body: 'x', failure })).to.equal(true);
  });
});

describe('http replay: properties', () => {
  const methods = fc.oneof(fc.constantFrom(...IDEMPOTENT_METHODS, 'POST', 'PATCH', 'get', 'post'), fc.string({ maxLength: 10 }));
  const headers = fc.oneof(fc.constant(undefined), fc.constant({ 'Idempotency-Key': 'k' }), fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })));

  it('a stream body is never replayable, whatever the method, headers or failure', () => {
    const bodies = streamBodies();
    fc.assert(
      fc.property(methods, headers, fc.integer({ min: 0, max: bodies.length - 1 }), fc.boolean(), (method, h, which, connectFailed) => {
        const body = bodies[which]![1]();
        expect(httpReplayDecision({ method, headers: h, body, failure: connectFailed ? refused() : reset() })).to.equal('not_idempotent');
      }),
    );
  });

  it('a method outside the idempotent set, with no Idempotency-Key and no connect failure, is never replayed', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }).filter((m) => !IDEMPOTENT_METHODS.has(m.toUpperCase())),
        fc.dictionary(fc.string({ maxLength: 20 }).filter((k) => k.toLowerCase() !== 'idempotency-key'), fc.string()),
        fc.oneof(fc.constant(undefined), fc.string(), fc.uint8Array()),
        (method, h, body) => {
          expect(httpReplayDecision({ method, headers: h, body, failure: reset() })).to.equal('not_idempotent');
        },
      ),
    );
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), fc.anything(), (method, h, body, failure) => {
        const decision = httpReplayDecision({ method, headers: h, body, failure });
        expect([true, 'not_idempotent']).to.include(decision);
      }),
    );
  });
});
