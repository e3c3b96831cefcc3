// breakwater hooks ioredis in an application that was not changed: a child process
// under --require (CommonJS) and under --import (an ES module importing ioredis).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Redis as RedisClient } from 'ioredis';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import type { FaultProxy } from '../../helpers/fault-proxy.js';
import { client, testRuntime, uniqueKey, waitReady, enableIoredis, IOREDIS_VERSIONS, olderIoredis } from '../../helpers/ioredis-setup.js';
import { compatDir } from '../../compat/modules.js';
import type { Adapter } from '../../../instrumentations/kit/adapter.js';
import { measureHandshake, newProxy, type Handshake } from '../../helpers/ioredis-faults.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const REGISTER = path.join(ROOT, 'dist/cjs/register/index.js');
const FIXTURES = path.join(ROOT, 'test/instrumentations/ioredis/fixtures');

interface ChildResult {
  incr: { value?: unknown; error?: string };
  get: { value?: unknown; error?: string };
}

describe('ioredis under breakwater/register in a child process', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let proxy: FaultProxy;
  let handshake: Handshake;
  /** ioredis 5's connection set-up, for the child that loads it. */
  let handshake5: Handshake;
  let direct: RedisClient;
  let adapter: Adapter;

  before(async function () {
    this.timeout(600_000);
    server = await redisServer();
    proxy = await newProxy(server);
    // The parent's own clients only count and measure; breakwater in the parent is not under test.
    const enabled = enableIoredis(testRuntime());
    adapter = enabled.adapter;
    direct = client(enabled.ioredis.Redis, { host: server.host, port: server.port, password: server.password });
    await waitReady(direct);
    handshake = await measureHandshake(enabled.ioredis.Redis, proxy, server);
    handshake5 = await measureHandshake(olderIoredis().load().Redis, proxy, server);
  });

  after(async () => {
    direct.disconnect();
    adapter.disable();
    await proxy.close();
  });

  async function runChild(flag: '--require' | '--import', script: string, key: string, ioredisFrom?: string): Promise<{ result: ChildResult; stderr: string; stdout: string }> {
    await proxy.setFault({ kind: 'cut_mid_response', afterBytes: (ioredisFrom === undefined ? handshake : handshake5).down + 1 });
    const child = spawn(process.execPath, [flag, REGISTER, path.join(FIXTURES, script)], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        OTEL_SDK_DISABLED: 'true',
        BREAKWATER_TIMEOUT_MS: '3000',
        BREAKWATER_RETRY_BASE_DELAY_MS: '1',
        REDIS_HOST: proxy.host,
        REDIS_PORT: String(proxy.port),
        REDIS_PASSWORD: server.password,
        REDIS_KEY: key,
        ...(ioredisFrom === undefined ? {} : { IOREDIS_FROM: ioredisFrom }),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          const before = stdout;
          stdout += d.toString();
          if (!before.includes('ready\n') && stdout.includes('ready\n')) {
            // The child's first connection carries the cut; later ones are clean.
            proxy.setFault({ kind: 'none' }).then(() => child.stdin.write('go\n'), reject);
            resolve();
          }
        });
        child.once('exit', () => reject(new Error(`child exited before it was ready: ${stderr}`)));
      });
      const code = await exited;
      expect(code, stderr).to.equal(0);
    } finally {
      clearTimeout(timer);
    }
    const line = stdout.split('\n').find((l) => l.startsWith('{'));
    expect(line, `no result on stdout: ${stdout} ${stderr}`).to.be.a('string');
    return { result: JSON.parse(line!) as ChildResult, stderr, stdout };
  }

  for (const [flag, script, ioredisFrom] of [
    ['--require', 'incr-after-cut.cjs', undefined],
    ['--import', 'incr-after-cut.mjs', undefined],
    ['--require', 'incr-after-cut.cjs', compatDir('older')],
  ] as const) {
    const which = ioredisFrom === undefined ? IOREDIS_VERSIONS[0]!.name : olderIoredis().name;
    it(`${flag} ${script} (${which}): the cut INCR fails to the app and is not re-sent (counted once); the next call works`, async () => {
      const key = uniqueKey(`child-${script}`);
      const { result, stderr, stdout } = await runChild(flag, script, key, ioredisFrom);
      // Without breakwater ioredis would re-send the INCR after reconnecting and answer 2.
      expect(result.incr).to.deep.equal({ error: 'Command aborted due to connection close' });
      expect(result.get).to.deep.equal({ value: '1' });
      expect(await direct.get(key)).to.equal('1');
      expect(stdout + stderr).not.to.include(server.password);
    });
  }
});
