import { expect } from 'chai';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { OtelHarness } from '../../helpers/otel.js';
import { enableAdapter, errorOf, outcomeOf, readResponse, selfSignedCertificate } from './support.js';

describe('http adapter: node:https against a local TLS server (self-signed)', () => {
  let tls: { key: string; cert: string };
  let server: https.Server;
  let url: string;
  let statuses: number[];
  let hits: number;
  let adapter: Adapter;
  let otel: OtelHarness;

  before(() => {
    tls = selfSignedCertificate();
  });
  beforeEach(async () => {
    otel = new OtelHarness().install();
    hits = 0;
    statuses = [200];
    server = https.createServer(tls, (req, res) => {
      const code = statuses[Math.min(hits++, statuses.length - 1)]!;
      req.resume();
      req.on('end', () => {
        res.writeHead(code, { 'content-type': 'text/plain' });
        res.end(`tls ${code}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ({ adapter } = enableAdapter());
  });
  afterEach(async () => {
    adapter.disable();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await otel.uninstall();
  });

  it('https.request: a 503 is retried through the same TLS options; the caller gets the 200', async () => {
    statuses = [503, 200];
    const req = https.request(`${url}/secure`, { ca: tls.cert, method: 'GET' });
    req.end();
    const out = await outcomeOf(req);
    expect([out.status, out.body, hits]).to.deep.equal([200, 'tls 200', 2]);
    const attempts = otel.spans().filter((s) => s.kind === 2);
    expect(attempts.map((s) => s.attributes['url.scheme'])).to.deep.equal(['https', 'https']);
    expect(attempts[0]!.attributes['server.port']).to.equal((server.address() as AddressInfo).port);
  });

  it('https.get with a callback', async () => {
    const out = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https.get(`${url}/get`, { ca: tls.cert }, (res) => readResponse(res).then(resolve, reject)).on('error', reject);
    });
    expect(out).to.include({ status: 200, body: 'tls 200' });
  });

  it('an untrusted certificate is a configuration failure: not retried, Node\'s own error', async () => {
    const error = await errorOf(https.get(`${url}/untrusted`));
    expect(error.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(hits).to.equal(0);
    expect(otel.spans().filter((s) => s.kind === 2)).to.have.length(1);
  });
});
