// No secret planted in ioredis calls (the password in a redis:// URL and in AUTH, a value
// that holds a token, a script that holds one) appears in any exported span or metric, in
// anything written to stdout/stderr, or in an error message breakwater creates. Key names
// do appear, in db.query.text only, as the official instrumentation's serializer shows them.
import { expect } from 'chai';
import type { Redis as RedisClient } from 'ioredis';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import type { FaultProxy } from '../../helpers/fault-proxy.js';
import { OtelHarness } from '../../helpers/otel.js';
import { client, enableIoredis, IOREDIS_VERSIONS, testRuntime, uniqueKey, waitReady, type IoredisModule } from '../../helpers/ioredis-setup.js';
import { eventually, measureHandshake, newProxy, type Handshake } from '../../helpers/ioredis-faults.js';

const TOKEN = 'tok_live_5f3c9a7e1b2d4c6f8a0e';
const KEY_SECRET = 'sessionkey-9d8c7b6a';

for (const version of IOREDIS_VERSIONS) {
  describe(`ioredis adapter: no secret leaks (${version.name})`, function () {
    this.timeout(60_000);
    let server: RedisServer;
    let otel: OtelHarness;
    let adapter: Adapter;
    let ioredis: IoredisModule;
    let proxy: FaultProxy;
    let handshake: Handshake;
    const written: string[] = [];
    const restore: Array<() => void> = [];
    const clients: RedisClient[] = [];

    before(async function () {
      this.timeout(600_000);
      server = await redisServer();
      otel = new OtelHarness().install();
      ({ adapter, ioredis } = enableIoredis(testRuntime({ BREAKWATER_TIMEOUT_MS: '300' }), version));
      proxy = await newProxy(server);
      handshake = await measureHandshake(ioredis.Redis, proxy, server);
      for (const stream of [process.stdout, process.stderr]) {
        const original = stream.write.bind(stream);
        stream.write = ((chunk: unknown, ...rest: unknown[]) => {
          written.push(String(chunk));
          return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
        }) as typeof stream.write;
        restore.push(() => (stream.write = original as typeof stream.write));
      }
    });

    after(async () => {
      for (const c of clients) c.disconnect();
      for (const r of restore) r();
      await proxy.close();
      adapter.disable();
      await otel.uninstall();
    });

    it('succeeding, failing and retried calls leave no password or token anywhere, and key names only in db.query.text', async () => {
      const password = server.password;
      const errors: unknown[] = [];
      const keep = (p: Promise<unknown>) => p.catch((e: unknown) => errors.push(e));

      // The password in the URL (redis://:password@host:port/3).
      const byUrl = new ioredis.Redis(`redis://:${encodeURIComponent(password)}@${server.host}:${server.port}/3`, {} as never) as RedisClient;
      byUrl.on('error', () => undefined);
      clients.push(byUrl);
      await waitReady(byUrl);
      const key = uniqueKey(KEY_SECRET);
      await byUrl.set(key, `Bearer ${TOKEN}`);
      expect(await byUrl.get(key)).to.equal(`Bearer ${TOKEN}`);
      await keep(byUrl.lpush(key, TOKEN)); // WRONGTYPE
      await keep(byUrl.auth(`wrong-${password}`)); // AUTH with a wrong password: WRONGPASS
      expect(await byUrl.auth(password)).to.equal('OK'); // AUTH with the password as an argument
      await keep(byUrl.eval(`return redis.error_reply('${TOKEN}')`, 0)); // an error whose message is ours to echo
      await byUrl.pipeline().set(key, TOKEN).get(key).exec();
      await byUrl.multi().get(key).exec();
      byUrl.disconnect();

      // Retried and suppressed calls through the cutting proxy, password in the options.
      await proxy.setFault({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      const cut = client(ioredis.Redis, { host: proxy.host, port: proxy.port, password, protocol: 2, enableReadyCheck: false } as never);
      clients.push(cut);
      await waitReady(cut);
      await proxy.setFault({ kind: 'none' });
      await keep(cut.incr(uniqueKey(KEY_SECRET))); // cut, not retried
      await eventually(() => cut.status === 'ready', 5000, 'reconnected');
      await cut.set(key, TOKEN);
      await proxy.setFault({ kind: 'cut_mid_response', afterBytes: handshake.down + 1 });
      cut.disconnect(true);
      await eventually(() => cut.status === 'ready', 5000, 'reconnected');
      await proxy.setFault({ kind: 'none' });
      expect(await cut.get(key)).to.equal(TOKEN); // cut, retried
      // Timed out (delay past the 300 ms timeout).
      await proxy.setFault({ kind: 'delay', ms: 400 });
      cut.disconnect(true);
      await eventually(() => cut.status === 'ready', 5000, 'reconnected');
      await keep(cut.set(uniqueKey(KEY_SECRET), TOKEN));
      cut.disconnect();
      await proxy.setFault({ kind: 'none' });

      expect(errors.length).to.be.greaterThan(3);
      const secrets = [password, encodeURIComponent(password), TOKEN];
      // What db.query.text shows: command and key, never a value, a password or a script.
      const texts = otel.spans().map((s) => s.attributes['db.query.text']);
      expect(texts).to.include(`set ${key} [1 other arguments]`);
      expect(texts).to.include(`lpush ${key} [1 other arguments]`);
      expect(texts).to.include('auth [1 other arguments]');
      expect(texts).to.include('eval ? 0');
      expect(texts).to.include(`set ${key} [1 other arguments]; get ${key}`);
      for (const span of otel.spans()) {
        const { 'db.query.text': _text, ...others } = span.attributes;
        expect(JSON.stringify({ name: span.name, attributes: others, events: span.events }), 'a key name outside db.query.text').not.to.include(KEY_SECRET);
      }
      const spans = otel.spans().map((s) =>
        JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links, resource: s.resource.attributes }),
      );
      expect(spans.length).to.be.greaterThan(10);
      const metrics = [...(await otel.collect()).values()].map((m) => JSON.stringify({ descriptor: m.descriptor, points: m.dataPoints.map((p) => p.attributes) }));
      // Messages of errors breakwater created (connection lost, timeouts) must not carry them either.
      const ours = errors
        .filter((e) => e instanceof Error && (e.name === 'TimeoutError' || e.message === 'Command aborted due to connection close'))
        .map((e) => `${(e as Error).message} ${String((e as Error).stack)}`);
      expect(ours.length).to.be.greaterThan(0);
      for (const [where, texts] of [
        ['spans', spans],
        ['metrics', metrics],
        ['stdout/stderr', written],
        ['breakwater errors', ours],
      ] as const) {
        for (const text of texts) for (const secret of secrets) expect(text, `${where} leak`).not.to.include(secret);
      }
    });
  });
}
