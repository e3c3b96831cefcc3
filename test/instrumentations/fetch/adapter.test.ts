import { Readable } from 'node:stream';
import { expect } from 'chai';
import { getClassification } from '../../../src/errors.js';
import { idempotent } from '../../../src/runtime/idempotency.js';
import { inCallerSpan, recordedCalls } from '../http/support.js';
import {
  attemptSpans,
  callEndSpans,
  clientSpans,
  recordingServer,
  setUp,
  spanIdOf,
  statuses,
  tearDown,
  UNDICI_VERSIONS,
  type RecordingServer,
  type Undici,
  type Setup,
} from './support.js';

/** What a test needs of a response, whichever client made it. */
interface Answer {
  status: number;
  text(): Promise<string>;
  /** Whether the body is still unread (the caller gets it as without breakwater). */
  unread: boolean;
}

interface Client {
  name: string;
  call(url: string, init?: { method?: string; headers?: Record<string, string>; body?: unknown; signal?: AbortSignal; duplex?: 'half' }): Promise<Answer>;
}

function fromResponse(r: Response): Answer {
  return { status: r.status, text: () => r.text(), unread: !r.bodyUsed };
}

/** The clients of one undici version; global fetch (Node's own undici) with the first only. */
const clientsOf = (undici: () => Undici, withGlobalFetch: boolean): Client[] => [
  ...(withGlobalFetch ? [{ name: 'global fetch', call: async (url: string, init?: object) => fromResponse(await fetch(url, init as RequestInit)) }] : []),
  { name: 'undici.fetch', call: async (url, init) => fromResponse((await undici().fetch(url, init as never)) as unknown as Response) },
  {
    name: 'undici.request',
    call: async (url, init) => {
      const r = await undici().request(url, init as never);
      return { status: r.statusCode, text: () => r.body.text(), unread: !r.body.bodyUsed };
    },
  },
  {
    name: 'Pool#request',
    call: async (url, init) => {
      const u = new URL(url);
      const pool = new (undici().Pool)(u.origin);
      try {
        const r = await pool.request({ path: u.pathname + u.search, method: 'GET', ...init } as never);
        const text = await r.body.text();
        return { status: r.statusCode, text: async () => text, unread: true };
      } finally {
        await pool.close();
      }
    },
  },
];

for (const [index, version] of UNDICI_VERSIONS.entries()) {
  const undici = version.load;
  const CLIENTS = clientsOf(undici, index === 0);
  describe(`fetch adapter: global fetch, undici.fetch, undici.request, Dispatcher#request (${version.name})`, () => {
    let server: RecordingServer;
    let s: Setup | undefined;

    beforeEach(async () => {
      server = await recordingServer();
    });
    afterEach(async () => {
      await tearDown(s);
      s = undefined;
      await server.close();
    });

    for (const client of CLIENTS) {
      describe(client.name, () => {
        it('a success: one CLIENT attempt span, child of the caller\'s span, with the HTTP attributes; its traceparent on the wire', async () => {
          s = setUp();
          const answer = await inCallerSpan('caller', async () => {
            const a = await client.call(`${server.url}/ok?q=1`);
            return { status: a.status, text: await a.text() };
          });
          expect(answer).to.deep.equal({ status: 200, text: 'ok' });
          const spans = s.otel.spans();
          const [call] = recordedCalls(spans, 'caller');
          expect(call!.attempts).to.have.length(1);
          expect(clientSpans(spans).map((c) => c.spanContext().spanId)).to.deep.equal([call!.last.spanContext().spanId]);
          expect(spans.filter((sp) => sp.instrumentationScope.name === 'breakwater')).to.have.length(1); // no call span by default
          const a = call!.last;
          expect(a.name).to.equal('GET');
          expect(a.attributes).to.include({
            'http.request.method': 'GET',
            'http.request.method_original': 'GET',
            'server.address': '127.0.0.1',
            'server.port': server.port,
            'url.scheme': 'http',
            'url.full': `${server.url}/ok?q=REDACTED`,
            'url.path': '/ok',
            'url.query': '?q=REDACTED',
            'network.peer.address': '127.0.0.1',
            'network.peer.port': server.port,
            'network.protocol.version': '1.1',
            'http.response.status_code': 200,
            'resilience.client': 'fetch',
            'resilience.attempt': 1,
            'resilience.outcome': 'success',
          });
          // fetch sends its own default User-Agent; undici.request and a Pool send none.
          if (client.name.includes('fetch')) expect(a.attributes['user_agent.original']).to.be.a('string').and.not.equal('');
          else expect(a.attributes).to.not.have.property('user_agent.original');
          expect(a.parentSpanContext?.spanId).to.equal(call!.caller.spanContext().spanId);
          expect(server.received).to.have.length(1);
          expect(spanIdOf(server.received[0]!.headers.traceparent)).to.equal(a.spanContext().spanId);
        });

        it('503 then 200: retried, one traceparent per attempt, resend_count on the retry', async () => {
          s = setUp();
          server.respond = statuses(503);
          const answer = await client.call(`${server.url}/flaky`);
          expect(answer.status).to.equal(200);
          expect(await answer.text()).to.equal('ok');
          const attempts = attemptSpans(s.otel.spans());
          expect(attempts.map((a) => a.attributes['http.response.status_code'])).to.deep.equal([503, 200]);
          expect(attempts.map((a) => a.attributes['resilience.attempt'])).to.deep.equal([1, 2]);
          expect(attempts[1]!.attributes['http.request.resend_count']).to.equal(1);
          expect(attempts.map((a) => a.attributes['resilience.outcome'])).to.deep.equal(['failure', 'success']);
          expect(attempts.map((a) => a.attributes['error.type'])).to.deep.equal(['503', undefined]);
          expect(attempts.map((a) => a.events.map((e) => e.name))).to.deep.equal([['resilience.retry.scheduled'], []]);
          expect(server.received.map((r) => spanIdOf(r.headers.traceparent))).to.deep.equal(attempts.map((a) => a.spanContext().spanId));
        });

        it('503 three times: the caller gets the last response with its body unread', async () => {
          s = setUp();
          let n = 0;
          server.respond = (_req, res) => {
            res.statusCode = 503;
            res.end(`attempt ${++n}`);
          };
          const answer = await client.call(`${server.url}/down`);
          expect(answer.status).to.equal(503);
          expect(answer.unread).to.equal(true);
          expect(await answer.text()).to.equal('attempt 3');
          expect(server.received).to.have.length(3);
        });
      });
    }

    describe('replay safety', () => {
      it('a POST after an ambiguous failure (reset after the request) is not retried; with an Idempotency-Key it is', async () => {
        s = setUp();
        let destroyNext = true;
        server.respond = (_req, res) => {
          if (destroyNext) {
            destroyNext = false;
            res.socket?.destroy(); // the request arrived: the server may have acted on it
            return;
          }
          res.end('ok');
        };
        const error = await fetch(`${server.url}/pay`, { method: 'POST', body: 'amount=1' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(TypeError); // fetch's own "fetch failed", same object
        expect(server.received).to.have.length(1);
        const [last] = callEndSpans(s.otel.spans());
        expect(last!.attributes['resilience.retry.suppressed']).to.equal('not_idempotent');
        expect(last!.attributes['resilience.outcome']).to.equal('failure');
        expect(getClassification(error)?.category).to.equal('network');

        destroyNext = true;
        const answer = await fetch(`${server.url}/pay`, { method: 'POST', body: 'amount=1', headers: { 'Idempotency-Key': 'k-1' } });
        expect(answer.status).to.equal(200);
        expect(server.received).to.have.length(3);
      });

      it('a POST 503 without a key is not retried (the caller gets the 503); idempotent(fn) marks it replayable, idempotent(fn, false) stops a GET', async () => {
        s = setUp();
        server.respond = statuses(503);
        const first = await undici().request(`${server.url}/p`, { method: 'POST', body: 'x' });
        expect(first.statusCode).to.equal(503);
        await first.body.dump();
        expect(server.received).to.have.length(1);
        server.respond = statuses(503);
        const marked = await idempotent(() => fetch(`${server.url}/p`, { method: 'POST', body: 'x' }));
        expect(marked.status).to.equal(200);
        expect(server.received).to.have.length(3);
        server.respond = statuses(503);
        const unmarked = await idempotent(() => undici().request(`${server.url}/g`), false);
        expect(unmarked.statusCode).to.equal(503);
        await unmarked.body.dump();
        expect(server.received).to.have.length(4);
      });

      it('replayable bodies are sent whole on each attempt: string, bytes, URLSearchParams, Blob, FormData', async () => {
        s = setUp();
        const bodies: unknown[] = ['text', new Uint8Array([104, 105]), new URLSearchParams({ a: '1' }), new Blob(['blob']), (() => {
          const f = new FormData();
          f.set('field', 'value');
          return f;
        })()];
        for (const body of bodies) {
          server.received.length = 0;
          server.respond = statuses(503);
          const answer = await fetch(`${server.url}/put`, { method: 'PUT', body: body as never });
          expect(answer.status).to.equal(200);
          expect(server.received).to.have.length(2);
          const [first, second] = server.received.map((r) => r.body.replace(/formdata-undici-\d+/g, 'boundary'));
          expect(second).to.equal(first).and.not.equal('');
        }
      });

      it('a stream body is sent once: ReadableStream, Node stream, async iterable, a Request with a body', async () => {
        s = setUp();
        const makeBodies = (): Array<() => Promise<number>> => [
          () => fetch(`${server.url}/s`, { method: 'PUT', body: new Blob(['a']).stream(), duplex: 'half' } as RequestInit).then((r) => r.status),
          () => fetch(`${server.url}/s`, { method: 'PUT', body: Readable.from(['a']), duplex: 'half' } as never).then((r) => r.status),
          () => undici().request(`${server.url}/s`, { method: 'PUT', body: Readable.from(['a']) }).then(async (r) => (await r.body.dump(), r.statusCode)),
          () =>
            undici()
              .request(`${server.url}/s`, { method: 'PUT', body: (async function* () { yield 'a'; })() as never })
              .then(async (r) => (await r.body.dump(), r.statusCode)),
          () => fetch(new Request(`${server.url}/s`, { method: 'PUT', body: 'a' })).then((r) => r.status),
        ];
        for (const send of makeBodies()) {
          server.received.length = 0;
          server.respond = statuses(503);
          expect(await send()).to.equal(503);
          expect(server.received).to.have.length(1);
          expect(server.received[0]!.body).to.equal('a');
        }
        const ends = callEndSpans(s.otel.spans());
        expect(ends.map((sp) => sp.attributes['resilience.retry.suppressed'])).to.deep.equal(Array(5).fill('not_idempotent'));
        expect(ends.map((sp) => sp.attributes['resilience.attempt'])).to.deep.equal(Array(5).fill(1));
      });
    });

    describe('connections', () => {
      it('a failed response is freed before the retry: one connection, a large 503 body, the retry still gets through', async () => {
        s = setUp({ BREAKWATER_TIMEOUT_MS: '2000' });
        let n = 0;
        server.respond = (_req, res) => {
          if (++n === 1) {
            res.statusCode = 503;
            res.end('x'.repeat(4 * 1024 * 1024)); // far more than undici buffers unread
            return;
          }
          res.end('ok');
        };
        const { Agent, Pool } = undici();
        const agent = new Agent({ connections: 1 });
        // That version's own fetch: Node's global fetch (its bundled undici) cannot drive an
        // undici 8 dispatcher (undici 8 accepts only the new handler API), with or without breakwater.
        const viaFetch = await (index === 0 ? fetch : (undici().fetch as unknown as typeof fetch))(`${server.url}/big`, { dispatcher: agent } as unknown as RequestInit);
        expect(await viaFetch.text()).to.equal('ok');
        n = 0;
        const pool = new Pool(server.url, { connections: 1 });
        const viaRequest = await undici().request(`${server.url}/big`, { dispatcher: pool });
        expect(await viaRequest.body.text()).to.equal('ok');
        await Promise.all([agent.close(), pool.close()]);
        // Each retry went through the caller's one-connection dispatcher, not the global one.
        expect(attemptSpans(s.otel.spans()).map((a) => a.attributes['http.response.status_code']).sort()).to.deep.equal([200, 200, 503, 503]);
      });

      it('a Pool created before breakwater was enabled is covered too (the prototype is patched)', async () => {
        s = setUp();
        const { Pool } = undici();
        s.adapter.disable();
        const pool = new Pool(server.url);
        s.adapter.enable();
        server.respond = statuses(503);
        const r = await pool.request({ path: '/early', method: 'GET' });
        expect(r.statusCode).to.equal(200);
        await r.body.dump();
        await pool.close();
        expect(server.received).to.have.length(2);
      });
    });

    describe('the caller', () => {
      it('headers are copied per attempt, never mutated: Headers, plain object, pairs; a caller traceparent is replaced', async () => {
        s = setUp();
        const asHeaders = new Headers({ 'x-a': '1', traceparent: '00-11111111111111111111111111111111-2222222222222222-01' });
        const asObject = { 'x-a': '1' };
        const asPairs: [string, string][] = [['x-a', '1']];
        for (const headers of [asHeaders, asObject, asPairs]) {
          server.received.length = 0;
          server.respond = statuses(503);
          await fetch(`${server.url}/h`, { headers });
          expect(server.received.map((r) => r.headers['x-a'])).to.deep.equal(['1', '1']);
          const parents = server.received.map((r) => r.headers.traceparent as string);
          expect(new Set(parents).size).to.equal(2);
          for (const p of parents) expect(p).to.not.include('2222222222222222');
        }
        expect([...asHeaders.keys()]).to.deep.equal(['traceparent', 'x-a']);
        expect(asObject).to.deep.equal({ 'x-a': '1' });
        expect(asPairs).to.deep.equal([['x-a', '1']]);
        const flat = ['x-a', '1'];
        await undici().request(`${server.url}/h`, { headers: flat }).then((r) => r.body.dump());
        expect(flat).to.deep.equal(['x-a', '1']);
        expect(server.received.at(-1)!.headers['x-a']).to.equal('1');
      });

      it('a Request input keeps its method and headers on every attempt', async () => {
        s = setUp();
        server.respond = statuses(503);
        const answer = await fetch(new Request(`${server.url}/r`, { method: 'DELETE', headers: { 'x-b': '2' } }));
        expect(answer.status).to.equal(200);
        expect(server.received.map((r) => [r.method, r.headers['x-b']])).to.deep.equal([
          ['DELETE', '2'],
          ['DELETE', '2'],
        ]);
      });

      it('aborting rejects with the caller\'s own reason, outcome cancelled, no retry', async () => {
        s = setUp({ BREAKWATER_TIMEOUT_MS: '5000' });
        server.respond = () => undefined; // never answers
        for (const send of [
          (signal: AbortSignal) => fetch(`${server.url}/slow`, { signal }),
          (signal: AbortSignal) => undici().fetch(`${server.url}/slow`, { signal }),
          (signal: AbortSignal) => undici().request(`${server.url}/slow`, { signal }),
        ]) {
          const controller = new AbortController();
          const reason = new Error('user gave up');
          const pending = send(controller.signal).then(
            () => undefined,
            (e: unknown) => e,
          );
          await new Promise((resolve) => setImmediate(resolve));
          controller.abort(reason);
          expect(await pending).to.equal(reason);
        }
        const controller = new AbortController();
        const pending = fetch(`${server.url}/slow`, { signal: controller.signal }).catch((e: unknown) => e);
        controller.abort();
        const abortError = (await pending) as Error;
        expect(abortError.name).to.equal('AbortError');
        expect(abortError).to.equal(controller.signal.reason);
        const ends = callEndSpans(s.otel.spans());
        expect(ends.map((p) => p.attributes['resilience.outcome'])).to.deep.equal(Array(4).fill('cancelled'));
        expect(ends.map((p) => p.attributes['resilience.attempt'])).to.deep.equal(Array(4).fill(1));
        expect(ends.every((p) => p.status.code !== 2 /* ERROR */ && p.attributes['error.type'] === undefined)).to.equal(true);
      });

      it('the attempt timeout aborts that attempt\'s request and the next one runs', async () => {
        s = setUp({ BREAKWATER_TIMEOUT_MS: '150' });
        let n = 0;
        server.respond = (_req, res) => {
          if (++n === 1) return; // the first never answers
          res.end('ok');
        };
        const answer = await fetch(`${server.url}/t`);
        expect(answer.status).to.equal(200);
        const attempts = attemptSpans(s.otel.spans());
        expect(attempts.map((a) => a.attributes['resilience.error.category'] ?? 'ok')).to.deep.equal(['timeout', 'ok']);
      });

      it('the callback forms of undici.request and Dispatcher#request still call back', async () => {
        s = setUp();
        server.respond = statuses(503);
        const viaModule = await new Promise<number>((resolve, reject) =>
          (undici().request as unknown as (url: string, opts: object, cb: (...a: never[]) => void) => void)(`${server.url}/cb`, {}, (err: unknown, data: { statusCode: number; body: { dump(): Promise<void> } }) => {
            if (err) reject(err as Error);
            else void data.body.dump().then(() => resolve(data.statusCode));
          }),
        );
        expect(viaModule).to.equal(200);
        const agent = new (undici().Agent)();
        const viaAgent = await new Promise<number>((resolve, reject) =>
          agent.request({ origin: server.url, path: '/cb', method: 'GET' }, (err: unknown, data: { statusCode: number; body: { dump(): Promise<void> } }) => {
            if (err) reject(err as Error);
            else void data.body.dump().then(() => resolve(data.statusCode));
          }),
        );
        await agent.close();
        expect(viaAgent).to.equal(200);
      });

      it('disable() restores global fetch and undici, unless someone replaced fetch after us', async () => {
        const before = globalThis.fetch;
        s = setUp();
        const u = undici();
        const wrapped = globalThis.fetch;
        expect(wrapped).to.not.equal(before);
        s.adapter.disable();
        expect(globalThis.fetch).to.equal(before);
        expect((u.request as unknown as { __wrapped?: boolean }).__wrapped).to.not.equal(true);
        s.adapter.enable();
        const theirs = (...args: Parameters<typeof fetch>) => wrapped(...args);
        globalThis.fetch = theirs;
        s.adapter.disable();
        expect(globalThis.fetch).to.equal(theirs);
        globalThis.fetch = before;
      });

      it('data: URLs and relative URLs go to the original fetch untouched', async () => {
        s = setUp();
        const r = await fetch('data:text/plain,hello');
        expect(await r.text()).to.equal('hello');
        const error = await fetch('/relative').catch((e: unknown) => e);
        expect(error).to.be.instanceOf(TypeError);
        expect(s.otel.spans()).to.have.length(0);
      });
    });
  });
}
