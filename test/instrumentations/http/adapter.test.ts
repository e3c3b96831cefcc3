import { context, createContextKey, trace } from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import { expect } from 'chai';
import http, { get as namedGet, request as namedRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { idempotent } from '../../../src/runtime/idempotency.js';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import type { Runtime } from '../../../src/runtime/runtime.js';
import { OtelHarness } from '../../helpers/otel.js';
import { configureTelemetry } from '../../../src/telemetry/settings.js';
import {
  enableAdapter,
  errorOf,
  eventNames,
  hang,
  inCallerSpan,
  ok,
  outcomeOf,
  readResponse,
  recordedCalls,
  scriptedServer,
  serverResettingFirst,
  status,
} from './support.js';
import type { ScriptedServer } from './support.js';

describe('http adapter: node:http', () => {
  let server: ScriptedServer;
  let runtime: Runtime;
  let adapter: Adapter;

  beforeEach(async () => {
    server = await scriptedServer();
    ({ runtime, adapter } = enableAdapter());
  });
  afterEach(async () => {
    adapter.disable();
    await server.close();
  });

  describe('patching', () => {
    it('replaces request and get of http and https, ESM named imports included, and restores them', async () => {
      const https = (await import('node:https')).default;
      const originals = { request: http.request, get: http.get, httpsRequest: https.request, httpsGet: https.get };
      adapter.disable();
      expect(http.request).to.not.equal(originals.request);
      const bare = { request: http.request, get: http.get, httpsRequest: https.request, httpsGet: https.get };
      expect(originals.request).to.not.equal(bare.request);
      adapter.enable();
      expect(http.request).to.not.equal(bare.request);
      expect(http.get).to.not.equal(bare.get);
      expect(https.request).to.not.equal(bare.httpsRequest);
      expect(https.get).to.not.equal(bare.httpsGet);
      // `import { request } from 'node:http'` sees the patch (syncBuiltinESMExports).
      expect(namedRequest).to.equal(http.request);
      expect(namedGet).to.equal(http.get);
      adapter.disable();
      expect(http.request).to.equal(bare.request);
      expect(namedRequest).to.equal(bare.request);
      expect(https.get).to.equal(bare.httpsGet);
      adapter.enable();
    });

    it('wraps calls made through the ESM named import', async () => {
      server.script(status(503), ok('named'));
      const req = namedRequest(`${server.url}/named`);
      expect(req).to.not.be.instanceOf(http.ClientRequest);
      req.end();
      const out = await outcomeOf(req);
      expect([out.status, out.body, server.received.length]).to.deep.equal([200, 'named', 2]);
    });

    it('a wrapper someone kept after disable() passes calls straight to Node', async () => {
      const kept = http.request;
      adapter.disable();
      const req = kept(`${server.url}/kept`);
      expect(req).to.be.instanceOf(http.ClientRequest);
      req.end();
      expect((await outcomeOf(req)).status).to.equal(200);
      adapter.enable();
    });
  });

  describe('the caller sees node:http', () => {
    it('callback form: request(url, callback) and end()', async () => {
      server.script(ok('hello'));
      const out = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${server.url}/cb`, (res) => readResponse(res).then(resolve, reject));
        req.on('error', reject);
        req.end();
      });
      expect(out).to.include({ status: 200, body: 'hello' });
      expect(server.received[0]).to.include({ method: 'GET', url: '/cb' });
    });

    it('event form: request(options), then the response event; close after the body', async () => {
      server.script(ok('events'));
      const req = http.request({ host: '127.0.0.1', port: server.port, path: '/ev', method: 'GET' });
      const events: string[] = [];
      for (const name of ['socket', 'finish', 'response', 'close']) req.on(name, () => events.push(name));
      const closed = new Promise((resolve) => req.once('close', resolve));
      req.end();
      const out = await outcomeOf(req);
      await closed;
      expect(out.body).to.equal('events');
      expect(events).to.deep.equal(['socket', 'finish', 'response', 'close']);
      expect(req.writableFinished).to.equal(true);
      expect((req as unknown as { res: unknown }).res).to.equal(out.response);
    });

    it('http.get(url, options, callback) sends GET and ends the request itself', async () => {
      server.script(ok('got'));
      const out = await new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        http.get(new URL(`${server.url}/g?a=1`), { headers: { 'x-test': 'yes' } }, (res) => readResponse(res).then(resolve, reject)).on('error', reject);
      });
      expect(out.body).to.equal('got');
      expect(server.received[0]).to.include({ method: 'GET', url: '/g?a=1' });
      expect(server.received[0]!.headers['x-test']).to.equal('yes');
    });

    it('a 503 then a 200: the caller gets the 200 with its headers and body intact', async () => {
      server.script(status(503, 'busy'), ok('fine', { 'x-served': 'second' }));
      const req = http.get(`${server.url}/retry`);
      const out = await outcomeOf(req);
      expect([out.status, out.body, out.headers['x-served']]).to.deep.equal([200, 'fine', 'second']);
      expect(server.received.map((r) => r.url)).to.deep.equal(['/retry', '/retry']);
    });

    it('a 503 three times: the caller gets the last 503 response, unconsumed, with its headers and body', async () => {
      let n = 0;
      server.script((_req, res) => {
        n++;
        res.writeHead(503, { 'x-attempt': String(n), 'retry-after': '0' });
        res.end(`busy ${n}`);
      });
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        http.get(`${server.url}/busy`, resolve).on('error', reject);
      });
      expect(res.statusCode).to.equal(503);
      expect(res.headers['x-attempt']).to.equal('3');
      expect(res.readableFlowing).to.equal(null); // nobody read it
      expect((await readResponse(res)).body).to.equal('busy 3');
      expect(server.received).to.have.length(3);
    });

    it('a 404 is the caller\'s answer at once (not transient)', async () => {
      server.script(status(404, 'nope'));
      const out = await outcomeOf(http.get(`${server.url}/missing`));
      expect([out.status, out.body, server.received.length]).to.deep.equal([404, 'nope', 1]);
    });

    it('Node\'s synchronous errors are thrown by the call, as without breakwater', () => {
      expect(() => http.request('not a url')).to.throw().with.property('code', 'ERR_INVALID_URL');
      expect(() => http.request({ port: server.port, headers: { 'bad header': 'x' } })).to.throw().with.property('code', 'ERR_INVALID_HTTP_TOKEN');
      expect(() => http.request({ port: server.port, protocol: 'ftp:' })).to.throw().with.property('code', 'ERR_INVALID_PROTOCOL');
      expect(() => http.request({ port: server.port, method: 'GE T' })).to.throw().with.property('code', 'ERR_INVALID_HTTP_TOKEN');
      expect(server.received).to.have.length(0);
    });

    it('header methods work before the request is sent, and every attempt carries the result', async () => {
      server.script(status(503), ok());
      const req = http.request(`${server.url}/h`, { headers: { 'x-a': '1', 'x-gone': 'soon' } });
      req.setHeader('X-B', ['2', '3']);
      req.removeHeader('x-gone');
      expect(req.getHeader('x-a')).to.equal('1');
      expect(req.hasHeader('x-b')).to.equal(true);
      expect(req.hasHeader('x-gone')).to.equal(false);
      expect(req.getHeaders()).to.include({ 'x-a': '1' });
      expect(req.headersSent).to.equal(false);
      req.end();
      await outcomeOf(req);
      expect(req.headersSent).to.equal(true);
      expect(() => req.setHeader('x-late', '1')).to.throw().with.property('code', 'ERR_HTTP_HEADERS_SENT');
      expect(server.received).to.have.length(2);
      for (const r of server.received) {
        expect(r.headers['x-a']).to.equal('1');
        expect(r.headers['x-b']).to.equal('2, 3');
        expect(r.headers['x-gone']).to.equal(undefined);
      }
    });

    it('end(data) keeps Content-Length on every attempt (no chunked encoding)', async () => {
      server.script(status(503), ok());
      const req = http.request(`${server.url}/cl`, { method: 'PUT' });
      req.end('{"a":1}');
      await outcomeOf(req);
      expect(server.received.map((r) => [r.body, r.headers['content-length'], r.headers['transfer-encoding']])).to.deep.equal([
        ['{"a":1}', '7', undefined],
        ['{"a":1}', '7', undefined],
      ]);
    });
  });

  describe('replay safety', () => {
    it('a POST that got a 503 is sent once; the caller gets the 503', async () => {
      server.script(status(503, 'busy'), ok());
      const req = http.request(`${server.url}/orders`, { method: 'POST' });
      req.end('order-1');
      const out = await outcomeOf(req);
      expect([out.status, out.body]).to.deep.equal([503, 'busy']);
      expect(server.received.map((r) => r.body)).to.deep.equal(['order-1']);
    });

    it('a POST with an Idempotency-Key is retried with the same body', async () => {
      server.script(status(503), ok('created'));
      const req = http.request(`${server.url}/orders`, { method: 'POST', headers: { 'Idempotency-Key': 'k-1' } });
      req.write('order');
      req.end('-2');
      const out = await outcomeOf(req);
      expect([out.status, out.body]).to.deep.equal([200, 'created']);
      expect(server.received.map((r) => [r.body, r.headers['idempotency-key']])).to.deep.equal([
        ['order-2', 'k-1'],
        ['order-2', 'k-1'],
      ]);
    });

    it('an Idempotency-Key set with setHeader() counts too', async () => {
      server.script(status(503), ok());
      const req = http.request(`${server.url}/orders`, { method: 'POST' });
      req.setHeader('idempotency-key', 'k-2');
      req.end('x');
      expect((await outcomeOf(req)).status).to.equal(200);
      expect(server.received).to.have.length(2);
    });

    it('idempotent(fn) marks a POST replayable; idempotent(fn, false) keeps even a GET to one send', async () => {
      server.script(status(503), ok());
      const post = idempotent(() => http.request(`${server.url}/p`, { method: 'POST' }));
      post.end('x');
      expect((await outcomeOf(post)).status).to.equal(200);
      server.script(status(503), ok());
      const get = idempotent(() => http.get(`${server.url}/g`), false);
      expect((await outcomeOf(get)).status).to.equal(503);
      expect(server.received).to.have.length(3);
    });

    it('a POST whose connection was reset while connecting is retried: Node never wrote it (syscall connect)', async () => {
      const front = await serverResettingFirst(1, server);
      try {
        const req = http.request(`${front.url}/reset`, { method: 'POST' });
        req.end('once');
        expect((await outcomeOf(req)).status).to.equal(200);
        expect(server.received.map((r) => r.body)).to.deep.equal(['once']);
        expect(front.connections()).to.equal(2);
      } finally {
        await front.close();
      }
    });

    it('a GET with a streamed body is retried whole after a reset; write callbacks fire (follow-redirects relies on them)', async () => {
      const front = await serverResettingFirst(1, server);
      try {
        server.script(ok('again'));
        const req = http.request(`${front.url}/stream`, { method: 'PUT' });
        const wrote: string[] = [];
        req.write('part-1;', () => {
          wrote.push('1');
          req.write('part-2', () => {
            wrote.push('2');
            req.end();
          });
        });
        const out = await outcomeOf(req);
        expect([out.status, out.body]).to.deep.equal([200, 'again']);
        expect(wrote).to.deep.equal(['1', '2']);
        expect(server.received.map((r) => r.body)).to.deep.equal(['part-1;part-2']);
        expect(front.connections()).to.equal(2);
      } finally {
        await front.close();
      }
    });

    it('a piped body within the limit is replayed whole', async () => {
      server.script(status(503), ok());
      const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(10 * 1024, 97 + i));
      const req = http.request(`${server.url}/upload`, { method: 'PUT' });
      Readable.from(chunks).pipe(req);
      expect((await outcomeOf(req)).status).to.equal(200);
      const expected = Buffer.concat(chunks).toString('utf8');
      expect(server.received.map((r) => r.body === expected)).to.deep.equal([true, true]);
    });

    it('stream.pipeline(source, req) completes and the body is replayed whole', async () => {
      const { pipeline } = await import('node:stream/promises');
      server.script(status(503), ok('piped'));
      const req = http.request(`${server.url}/pipeline`, { method: 'PUT' });
      const out = outcomeOf(req);
      await pipeline(Readable.from(['one-', 'two-', 'three']), req);
      expect((await out).body).to.equal('piped');
      expect(server.received.map((r) => r.body)).to.deep.equal(['one-two-three', 'one-two-three']);
    });

    it('a 503 that arrives before the upload is complete: the retry gets the whole body, written before and after it', async () => {
      let first = true;
      const bodies: string[] = [];
      const early = await (await import('../../integration/http-server.js')).httpServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => bodies.push(Buffer.concat(chunks).toString('utf8')));
        if (first) {
          first = false;
          res.writeHead(503, { connection: 'close' });
          res.end('early');
          return;
        }
        req.on('end', () => res.end('whole'));
      });
      try {
        const req = http.request(`${early.url}/early`, { method: 'PUT' });
        const out = outcomeOf(req);
        req.write('a-');
        await new Promise((resolve) => setTimeout(resolve, 40)); // the 503 is back by now
        req.write('b-');
        await new Promise((resolve) => setTimeout(resolve, 10));
        req.end('c');
        expect((await out).body).to.equal('whole');
        expect(bodies.at(-1)).to.equal('a-b-c');
      } finally {
        await early.close();
      }
    });

    it('a streamed body over 1 MiB is sent once, even for a PUT; the caller gets the 503', async () => {
      server.script(status(503, 'busy'), ok());
      const chunk = Buffer.alloc(64 * 1024, 120);
      const count = 24; // 1.5 MiB
      const req = http.request(`${server.url}/big`, { method: 'PUT' });
      Readable.from(Array.from({ length: count }, () => chunk)).pipe(req);
      const out = await outcomeOf(req);
      expect([out.status, out.body]).to.deep.equal([503, 'busy']);
      expect(server.received).to.have.length(1);
      expect(server.received[0]!.body.length).to.equal(count * chunk.length);
    });
  });

  describe('breaker, timeouts and cancelling', () => {
    it('an open breaker: an error event with BREAKWATER_CIRCUIT_OPEN, nothing dialled', async () => {
      runtime.circuit(`http://127.0.0.1:${server.port}`).isolate();
      const req = http.get(`${server.url}/open`);
      const events: string[] = [];
      req.on('close', () => events.push('close'));
      const error = await errorOf(req);
      expect(error.code).to.equal('BREAKWATER_CIRCUIT_OPEN');
      await new Promise((resolve) => setImmediate(resolve));
      expect(events).to.deep.equal(['close']);
      expect(server.received).to.have.length(0);
      expect(req.destroyed).to.equal(true);
    });

    it('breakwater\'s attempt timeout destroys each attempt; the caller gets the timeout error', async () => {
      adapter.disable();
      ({ runtime, adapter } = enableAdapter({ BREAKWATER_TIMEOUT_MS: '80' }));
      server.script(hang);
      const error = await errorOf(http.get(`${server.url}/slow`));
      expect(error.code).to.equal('BREAKWATER_TIMEOUT');
      expect(server.received).to.have.length(3);
      // Every timed-out attempt's request was destroyed: no connection is left open.
      const open = () => new Promise<number>((resolve) => server.server.getConnections((_e, n) => resolve(n)));
      for (let i = 0; i < 100 && (await open()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await open()).to.equal(0);
    });

    it('a unix socket target is wrapped too (target key http+unix://, no server.address)', async () => {
      const { mkdtempSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dir = mkdtempSync(join(tmpdir(), 'bw-http-sock-'));
      const socketPath = join(dir, 'api.sock');
      let hits = 0;
      const unixServer = http.createServer((_req, res) => {
        res.writeHead(++hits === 1 ? 503 : 200);
        res.end(`unix ${hits}`);
      });
      await new Promise<void>((resolve) => unixServer.listen(socketPath, resolve));
      try {
        const out = await outcomeOf(http.get({ socketPath, path: '/over-unix' }));
        expect([out.status, out.body, hits]).to.deep.equal([200, 'unix 2', 2]);
        expect(runtime.circuits().map((c) => c.target)).to.satisfy((targets: string[]) => targets.some((t) => /^http\+unix:\/\/api\.sock-[0-9a-f]{8}:0$/.test(t)));
      } finally {
        unixServer.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('the caller\'s timeout option keeps its Node meaning: a timeout event, and destroy() there ends the call without retry', async () => {
      adapter.disable();
      ({ runtime, adapter } = enableAdapter({ BREAKWATER_TIMEOUT_MS: '5000' }));
      server.script(hang);
      const req = http.get(`${server.url}/mine`, { timeout: 50 });
      let timeouts = 0;
      req.on('timeout', () => {
        timeouts++;
        req.destroy();
      });
      const error = await errorOf(req);
      expect(error.code).to.equal('ECONNRESET'); // Node's "socket hang up" for a destroyed request
      expect(timeouts).to.equal(1);
      expect(server.received).to.have.length(1);
    });

    it('req.setTimeout(ms, callback) works as in Node', async () => {
      server.script(hang);
      const req = http.get(`${server.url}/st`);
      const fired = new Promise<void>((resolve) => req.setTimeout(40, () => resolve()));
      await fired;
      req.destroy(new Error('gave up'));
      expect((await errorOf(req)).message).to.equal('gave up');
    });

    it('options.signal cancels: an AbortError, no retry', async () => {
      server.script(hang);
      const controller = new AbortController();
      const req = http.get(`${server.url}/abort`, { signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      const error = await errorOf(req);
      expect([error.name, error.code]).to.deep.equal(['AbortError', 'ABORT_ERR']);
      expect(server.received).to.have.length(1);
    });

    it('destroy(err) gives the caller its own error object back', async () => {
      server.script(hang);
      const req = http.get(`${server.url}/destroy`);
      const mine = new Error('mine');
      req.on('socket', () => setTimeout(() => req.destroy(mine), 20));
      expect(await errorOf(req)).to.equal(mine);
      expect(req.destroyed).to.equal(true);
    });

    it('abort() emits abort and close, and nothing is retried', async () => {
      server.script(hang);
      const req = http.get(`${server.url}/abort2`);
      req.on('error', () => undefined);
      const events: string[] = [];
      const closed = new Promise<void>((resolve) => req.on('close', resolve));
      req.on('abort', () => events.push('abort'));
      setTimeout(() => req.abort(), 20);
      await closed;
      expect(events).to.deep.equal(['abort']);
      expect(req.aborted).to.equal(true);
      expect(server.received.length).to.be.at.most(1);
    });
  });

  describe('queued and kept-alive', () => {
    it('a call waiting for a bulkhead slot takes headers and body meanwhile and sends them when admitted', async () => {
      adapter.disable();
      ({ runtime, adapter } = enableAdapter({ BREAKWATER_BULKHEAD_MAX_CONCURRENT: '1', BREAKWATER_BULKHEAD_MAX_QUEUE: '5', BREAKWATER_TIMEOUT_MS: '2000' }));
      // The slot is held until the response headers arrive: the first call's server waits.
      let release!: () => void;
      server.script((_req, res) => {
        release = () => res.end('first');
      }, ok('second'));
      const firstOut = outcomeOf(http.get(`${server.url}/first`));
      while (server.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      const queued = http.request(`${server.url}/queued`, { method: 'PUT', headers: { 'x-a': '1' } });
      queued.setHeader('x-b', '2');
      expect(queued.getHeader('x-a')).to.equal('1');
      expect(queued.headersSent).to.equal(false);
      queued.end('queued-body');
      const queuedOut = outcomeOf(queued);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(server.received).to.have.length(1); // still waiting for the slot
      release();
      expect((await firstOut).body).to.equal('first');
      expect((await queuedOut).body).to.equal('second');
      expect(server.received[1]).to.deep.include({ method: 'PUT', body: 'queued-body' });
      expect(server.received[1]!.headers).to.include({ 'x-a': '1', 'x-b': '2', 'content-length': '11' });
    });

    it('a failed response that is retried is drained, so a keep-alive agent reuses its connection', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const ports: number[] = [];
      server.script(
        (req, res) => {
          ports.push(req.socket.remotePort!);
          res.writeHead(503);
          res.end('x'.repeat(50_000));
        },
        (req, res) => {
          ports.push(req.socket.remotePort!);
          res.end('ok');
        },
      );
      const req = http.get(`${server.url}/ka`, { agent });
      const out = await outcomeOf(req);
      agent.destroy();
      expect(out.body).to.equal('ok');
      expect(ports).to.have.length(2);
      expect(new Set(ports).size).to.equal(1); // the same client socket for both attempts
    });
  });

  describe('left to Node', () => {
    it('CONNECT and Upgrade requests get Node\'s own ClientRequest', () => {
      const connect = http.request({ port: server.port, method: 'CONNECT', path: '127.0.0.1:1' });
      const upgrade = http.request({ port: server.port, headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
      for (const req of [connect, upgrade]) {
        expect(req).to.be.instanceOf(http.ClientRequest);
        req.on('error', () => undefined);
        req.destroy();
      }
    });
  });
});

describe('http adapter: context and telemetry', () => {
  let server: ScriptedServer;
  let runtime: Runtime;
  let adapter: Adapter;
  let otel: OtelHarness;

  beforeEach(async () => {
    otel = new OtelHarness().install();
    server = await scriptedServer();
    ({ runtime, adapter } = enableAdapter());
  });
  afterEach(async () => {
    adapter.disable();
    await server.close();
    await otel.uninstall();
  });

  it('calls made while tracing is suppressed pass through (the SDK\'s own exports)', () => {
    const req = context.with(suppressTracing(context.active()), () => http.request(`${server.url}/export`));
    expect(req).to.be.instanceOf(http.ClientRequest);
    req.on('error', () => undefined);
    req.destroy();
  });

  it('listeners and response handlers run in the caller\'s context, never the attempt\'s suppressed one', async () => {
    const key = createContextKey('caller');
    server.script(status(503), ok('ctx'));
    const seen = await context.with(context.active().setValue(key, 'me'), () => {
      const req = http.get(`${server.url}/ctx`);
      return new Promise<string[]>((resolve, reject) => {
        const out: string[] = [];
        const look = (where: string) => out.push(`${where}:${String(context.active().getValue(key))}:${isTracingSuppressed(context.active())}`);
        req.on('socket', () => look('socket'));
        req.on('response', (res: IncomingMessage) => {
          look('response');
          res.on('data', () => undefined);
          res.on('end', () => {
            look('end');
            resolve(out);
          });
        });
        req.on('error', reject);
      });
    });
    expect(new Set(seen)).to.deep.equal(new Set(['socket:me:false', 'response:me:false', 'end:me:false']));
  });

  it('one CLIENT span per attempt, children of the caller\'s span (no call span by default); one traceparent per attempt, carrying that attempt\'s span', async () => {
    server.script(status(503), status(503), ok());
    const out = await inCallerSpan('caller', () => {
      const req = http.request(`${server.url}/traced?token=secret`, { headers: { traceparent: '00-11111111111111111111111111111111-2222222222222222-01', 'user-agent': 'tests/1' } });
      req.end();
      return outcomeOf(req);
    });
    expect(out.status).to.equal(200);
    const spans = otel.spans();
    expect(spans.filter((s) => s.kind === 0 /* INTERNAL */ && s.instrumentationScope.name === 'breakwater')).to.have.length(0);
    const [call] = recordedCalls(spans, 'caller');
    const attempts = call!.attempts;
    expect(spans.filter((s) => s.kind === 2 /* CLIENT */).map((s) => s.spanContext().spanId)).to.deep.equal(attempts.map((s) => s.spanContext().spanId));
    expect(attempts.map((s) => s.name)).to.deep.equal(['GET', 'GET', 'GET']);
    expect(attempts.map((s) => s.attributes['resilience.attempt'])).to.deep.equal([1, 2, 3]);
    expect(attempts.map((s) => s.attributes['http.response.status_code'])).to.deep.equal([503, 503, 200]);
    expect(attempts.map((s) => s.attributes['http.request.resend_count'])).to.deep.equal([undefined, 1, 2]);
    expect(attempts.map((s) => s.attributes['resilience.outcome'])).to.deep.equal(['failure', 'failure', 'success']);
    expect(attempts.map((s) => eventNames(s))).to.deep.equal([['resilience.retry.scheduled'], ['resilience.retry.scheduled'], []]);
    expect(attempts.map((s) => s.attributes['error.type'])).to.deep.equal(['503', '503', undefined]);
    for (const span of attempts) {
      expect(span.parentSpanContext?.spanId).to.equal(call!.caller.spanContext().spanId);
      expect(span.spanContext().traceId).to.equal(call!.caller.spanContext().traceId);
      expect(span.attributes).to.include({
        'http.request.method': 'GET',
        'server.address': '127.0.0.1',
        'server.port': server.port,
        'url.scheme': 'http',
        'url.full': `${server.url}/traced?token=REDACTED`,
        'user_agent.original': 'tests/1',
        'network.peer.address': '127.0.0.1',
        'network.peer.port': server.port,
        'network.protocol.version': '1.1',
      });
    }
    const received = server.received.map((r) => r.headers.traceparent);
    expect(received).to.deep.equal(attempts.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`));
    expect(JSON.stringify(spans.map((s) => [s.name, s.attributes]))).to.not.include('secret');
  });

  it('with call spans turned on, an INTERNAL span for the call is the attempts\' parent, itself the caller\'s child', async () => {
    configureTelemetry({ callSpans: true });
    try {
      server.script(status(503), ok());
      await inCallerSpan('caller', () => outcomeOf(http.get(`${server.url}/with-call-span`)));
    } finally {
      configureTelemetry({ callSpans: false });
    }
    const spans = otel.spans();
    const caller = spans.find((s) => s.name === 'caller')!;
    const parents = spans.filter((s) => s.kind === 0 && s.name === `default http://127.0.0.1:${server.port}`);
    expect(parents).to.have.length(1);
    expect(parents[0]!.parentSpanContext?.spanId).to.equal(caller.spanContext().spanId);
    expect(parents[0]!.attributes).to.include({ 'resilience.outcome': 'success', 'resilience.attempt': 2 });
    const attempts = spans.filter((s) => s.kind === 2);
    expect(attempts.map((s) => s.parentSpanContext?.spanId)).to.deep.equal([parents[0]!.spanContext().spanId, parents[0]!.spanContext().spanId]);
  });

  it('an unknown method is recorded as _OTHER, with the span named HTTP', async () => {
    const req = http.request(`${server.url}/purge`, { method: 'PURGE' });
    req.end();
    await outcomeOf(req);
    const [span] = otel.spans().filter((s) => s.kind === 2);
    expect(span!.name).to.equal('HTTP');
    expect(span!.attributes).to.include({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PURGE' });
  });

  it('a cancelled call is recorded as cancelled on its last attempt span, not as an error', async () => {
    server.script(hang);
    await inCallerSpan('caller', async () => {
      const req = http.get(`${server.url}/cancel`);
      req.on('socket', () => setTimeout(() => req.destroy(), 20));
      await errorOf(req);
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const [call] = recordedCalls(otel.spans(), 'caller');
    expect(call!.attempts).to.have.length(1);
    expect(call!.last.attributes['resilience.outcome']).to.equal('cancelled');
    expect(call!.last.attributes['resilience.retry.suppressed']).to.equal(undefined);
    expect(call!.last.status.code).to.not.equal(2 /* ERROR */);
    expect(call!.last.attributes['error.type']).to.equal(undefined);
  });

  it('inside an active span of the caller each attempt span is its child, in its trace', async () => {
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('caller', async (span) => {
      const out = await outcomeOf(http.get(`${server.url}/child`));
      span.end();
      expect(out.status).to.equal(200);
    });
    const caller = otel.spans().find((s) => s.name === 'caller')!;
    const attempts = otel.spans().filter((s) => s.kind === 2);
    expect(attempts).to.have.length(1);
    expect(attempts[0]!.parentSpanContext?.spanId).to.equal(caller.spanContext().spanId);
    expect(attempts[0]!.spanContext().traceId).to.equal(caller.spanContext().traceId);
  });

  it('an open breaker: a short INTERNAL resilience.rejected span, nothing dialled, no CLIENT span', async () => {
    runtime.circuit(`http://127.0.0.1:${server.port}`).isolate();
    await inCallerSpan('caller', () => errorOf(http.get(`${server.url}/rejected`)));
    const [call] = recordedCalls(otel.spans(), 'caller');
    expect(call!.attempts.map((s) => [s.name, s.kind])).to.deep.equal([['resilience.rejected', 0]]);
    expect(call!.last.attributes).to.include({ 'resilience.outcome': 'rejected', 'error.type': 'BREAKWATER_CIRCUIT_OPEN' });
    expect(call!.last.status.code).to.equal(2);
    expect(otel.spans().filter((s) => s.kind === 2)).to.have.length(0);
    expect(server.received).to.have.length(0);
  });
});
