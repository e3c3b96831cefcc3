import http from 'node:http';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { idempotent } from '../../src/runtime/idempotency.js';
import { createHttpAdapter } from '../../instrumentations/http/index.js';
import { createFetchAdapter } from '../../instrumentations/fetch/index.js';
import type { Adapter } from '../../instrumentations/kit/adapter.js';
import { httpServer, type HttpTestServer } from './http-server.js';
import { OtelHarness, pointValue } from '../helpers/otel.js';

const require = createRequire(import.meta.url);

/** Hedging on, at a fixed delay, with the default budget (10% of first attempts). */
const HEDGE_ENV: Record<string, string> = {
  BREAKWATER_HEDGE: 'true',
  BREAKWATER_HEDGE_DELAY_MS: '50',
  BREAKWATER_TIMEOUT_MS: '5000',
  BREAKWATER_RETRY_BASE_DELAY_MS: '1',
  BREAKWATER_BREAKER: 'off',
};

const STALL_MS = 3000;

/**
 * A real server that stalls one request in `every` (GETs and writes alike) for
 * STALL_MS, and counts what it received and which stalled requests the client gave up on.
 */
interface StallingServer extends HttpTestServer {
  requests: { method: string; index: number }[];
  stalled: number;
  abandoned: number;
}

/** One request in `every`, from `first` on. */
const oneIn = (every: number, first: number) => (index: number) => index >= first && index % every === first % every;

async function stallingServer(stalls: (index: number) => boolean, stallMs = STALL_MS): Promise<StallingServer> {
  const state = { requests: [] as { method: string; index: number }[], stalled: 0, abandoned: 0 };
  const server = await httpServer((req, res) => {
    const index = state.requests.length;
    state.requests.push({ method: req.method ?? '', index });
    req.resume();
    if (!stalls(index)) {
      res.end(`r${index}`);
      return;
    }
    state.stalled++;
    const timer = setTimeout(() => res.end(`slow r${index}`), stallMs);
    res.on('close', () => {
      if (!res.writableFinished) {
        clearTimeout(timer);
        state.abandoned++;
      }
    });
  });
  return Object.defineProperties(server, {
    requests: { get: () => state.requests },
    stalled: { get: () => state.stalled },
    abandoned: { get: () => state.abandoned },
  }) as StallingServer;
}

type Client = { name: string; get(url: string): Promise<string>; send(url: string, method: string, headers?: Record<string, string>): Promise<string> };

function nodeHttp(method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const CLIENTS: Client[] = [
  { name: 'node:http', get: (url) => nodeHttp('GET', url), send: (url, method, headers) => nodeHttp(method, url, headers, '{"n":1}') },
  {
    name: 'fetch',
    get: async (url) => (await fetch(url)).text(),
    send: async (url, method, headers) => (await fetch(url, { method, headers, body: '{"n":1}' })).text(),
  },
  {
    name: 'undici.request',
    get: async (url) => (await (require('undici') as typeof import('undici')).request(url)).body.text(),
    send: async (url, method, headers) => (await (require('undici') as typeof import('undici')).request(url, { method: method as 'POST', headers, body: '{"n":1}' })).body.text(),
  },
];

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe('hedging on real HTTP servers (node:http, fetch, undici)', function () {
  this.timeout(30_000);
  let otel: OtelHarness;
  let adapters: Adapter[];
  let server: StallingServer | undefined;

  function enable(env: Record<string, string> = {}): Runtime {
    otel = new OtelHarness().install();
    const runtime = new Runtime(loadConfig({ ...HEDGE_ENV, ...env }));
    adapters = [createHttpAdapter(runtime), createFetchAdapter(runtime)];
    for (const a of adapters) a.enable();
    return runtime;
  }

  afterEach(async () => {
    for (const a of adapters ?? []) a.disable();
    await otel?.uninstall();
    await server?.close();
    server = undefined;
  });

  for (const client of CLIENTS) {
    describe(client.name, () => {
      it('a GET stalled by the server returns the backup\'s fast answer; the extra requests stay within the budget', async () => {
        enable();
        server = await stallingServer(oneIn(20, 15));
        const calls = 100;
        const latencies: number[] = [];
        for (let i = 0; i < calls; i++) {
          const started = performance.now();
          const body = await client.get(`${server.url}/item?token=s3cr3t`);
          latencies.push(performance.now() - started);
          expect(body).to.match(/^r\d+$/); // never the stalled request's late answer
        }
        await until(() => server!.abandoned === server!.stalled);
        const gets = server.requests.length;
        expect(server.stalled).to.be.at.least(4);
        expect(gets - calls, 'backup requests').to.equal(server.stalled);
        expect(gets - calls).to.be.at.most(0.1 * calls);
        expect(server.abandoned, 'stalled requests the client cancelled').to.equal(server.stalled);
        expect(Math.max(...latencies)).to.be.below(STALL_MS / 2);

        const m = await otel.collect();
        expect(pointValue(m.get('resilience.hedges'), { 'resilience.hedge.result': 'won' })).to.equal(server.stalled);
        const hedgeSpans = otel.spans().filter((s: ReadableSpan) => s.attributes['resilience.hedge'] === true);
        expect(hedgeSpans).to.have.length(server.stalled);
        for (const span of hedgeSpans) {
          expect(span.attributes).to.include({ 'resilience.hedge.result': 'won', 'resilience.attempt': 2, 'http.request.resend_count': 1 });
          expect(String(span.attributes['url.full'])).to.not.include('s3cr3t');
        }
        const cancelled = otel.spans().filter((s) => s.attributes['resilience.hedge.result'] === 'cancelled');
        expect(cancelled).to.have.length(server.stalled);
      });

      it('never hedges a POST, a POST with an Idempotency-Key, a PUT, nor a GET marked not idempotent; a plain GET beside them is', async () => {
        enable();
        const warmCalls = 40;
        server = await stallingServer((index) => index >= warmCalls, 300); // fast while the budget fills, then every request stalls
        for (let i = 0; i < warmCalls; i++) await client.get(`${server.url}/warm`);
        const url = server.url;
        await Promise.all([
          client.send(`${url}/orders`, 'POST'),
          client.send(`${url}/orders`, 'POST', { 'Idempotency-Key': 'k-1' }),
          client.send(`${url}/orders/1`, 'PUT'),
          idempotent(() => client.get(`${url}/item`), false),
        ]);
        const late = server.requests.slice(warmCalls).map((r) => r.method).sort();
        expect(late).to.deep.equal(['GET', 'POST', 'POST', 'PUT']);
        expect(otel.spans().filter((s) => s.attributes['resilience.hedge'] === true)).to.have.length(0);
        // The control: a plain GET under the same budget and stall is hedged.
        await client.get(`${url}/item`);
        expect(server.requests.length - warmCalls).to.equal(6);
        expect(otel.spans().filter((s) => s.attributes['resilience.hedge'] === true)).to.have.length(1);
      });
    });
  }
});
