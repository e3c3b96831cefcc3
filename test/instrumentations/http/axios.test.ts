import axios, { AxiosError } from 'axios';
import { expect } from 'chai';
import { Readable } from 'node:stream';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { enableAdapter, hang, ok, scriptedServer, status } from './support.js';
import type { ScriptedServer } from './support.js';

// axios's node adapter calls http.request / https.request (through follow-redirects
// unless maxRedirects is 0): both paths go through the patched functions.
describe('http adapter: axios on top of node:http', () => {
  let server: ScriptedServer;
  let adapter: Adapter;

  beforeEach(async () => {
    server = await scriptedServer();
    ({ adapter } = enableAdapter());
  });
  afterEach(async () => {
    adapter.disable();
    await server.close();
  });

  it('GET: a 503 then a 200 (follow-redirects path)', async () => {
    server.script(status(503), ok('axios ok'));
    const res = await axios.get(`${server.url}/a`);
    expect([res.status, res.data, server.received.length]).to.deep.equal([200, 'axios ok', 2]);
  });

  it('GET: a 503 then a 200 (plain http path, maxRedirects 0)', async () => {
    server.script(status(503), ok('plain'));
    const res = await axios.get(`${server.url}/b`, { maxRedirects: 0 });
    expect([res.status, res.data, server.received.length]).to.deep.equal([200, 'plain', 2]);
  });

  it('a redirect is followed and each hop is its own call', async () => {
    server.script(
      (_req, res) => {
        res.writeHead(302, { location: '/target' });
        res.end();
      },
      status(503),
      ok('landed'),
    );
    const res = await axios.get(`${server.url}/from`);
    expect(res.data).to.equal('landed');
    expect(server.received.map((r) => r.url)).to.deep.equal(['/from', '/target', '/target']);
  });

  it('POST JSON that gets a 503 is sent once; axios rejects with the 503 response', async () => {
    server.script(status(503, 'busy'));
    const error = await axios.post(`${server.url}/orders`, { id: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(AxiosError);
    expect((error as AxiosError).response?.status).to.equal(503);
    expect(server.received.map((r) => r.body)).to.deep.equal(['{"id":1}']);
  });

  it('POST JSON with an Idempotency-Key is retried with the same body and Content-Length', async () => {
    server.script(status(503), ok('stored'));
    const res = await axios.post(`${server.url}/orders`, { id: 2 }, { headers: { 'Idempotency-Key': 'abc' } });
    expect(res.data).to.equal('stored');
    expect(server.received.map((r) => [r.body, r.headers['content-length']])).to.deep.equal([
      ['{"id":2}', '8'],
      ['{"id":2}', '8'],
    ]);
  });

  it('PUT with a stream body within the limit is replayed whole', async () => {
    server.script(status(503), ok());
    const body = Readable.from(['alpha-', 'beta-', 'gamma']);
    const res = await axios.put(`${server.url}/stream`, body);
    expect(res.status).to.equal(200);
    expect(server.received.map((r) => r.body)).to.deep.equal(['alpha-beta-gamma', 'alpha-beta-gamma']);
  });

  it('axios\'s own timeout and AbortController keep their meaning (no retry after the caller gave up)', async () => {
    server.script(hang);
    const timedOut = await axios.get(`${server.url}/slow`, { timeout: 50 }).catch((e: AxiosError) => e);
    expect((timedOut as AxiosError).code).to.equal('ECONNABORTED');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const cancelled = await axios.get(`${server.url}/slow`, { signal: controller.signal }).catch((e: unknown) => e);
    expect(axios.isCancel(cancelled)).to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.received).to.have.length(2);
  });
});
