// breakwater/register hooks node-redis 4 with no change to the application: a CommonJS
// script under --require, against the real server. Behavioural proof: a command to a
// port where nothing listens waits in node-redis 4's offline queue (it has no command
// timeout) without breakwater, and fails at breakwater's attempt timeout with it.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import { compatDir } from '../../compat/modules.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const worktree = path.resolve(here, '../../../..');
const register = path.join(worktree, 'dist/cjs/src/register/index.js');

const SCRIPT = `
const { createClient } = require(process.env.REDIS4);
(async () => {
  const out = {};
  const good = createClient({ url: process.env.GOOD_URL });
  good.on('error', () => {});
  await good.connect();
  await good.set('bw:register4', 'hooked');
  out.get = await good.get('bw:register4');
  await good.disconnect();
  const dead = createClient({ url: process.env.DEAD_URL, socket: { reconnectStrategy: () => 50 } });
  dead.on('error', () => {});
  dead.connect().catch(() => {});
  const started = Date.now();
  try { await dead.incr('bw:register4:n'); } catch (e) { out.code = e.code ?? e.constructor.name; }
  out.ms = Date.now() - started;
  await dead.disconnect().catch(() => {});
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})();
`;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('redis adapter (node-redis 4) under breakwater/register --require, in a child process', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let dir: string;

  before(async () => {
    server = await redisServer();
    dir = await mkdtemp(path.join(worktree, 'build', 'redis4-register-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('wraps node-redis 4 commands with no code change: a command to a dead port fails at breakwater\'s timeout', async () => {
    const script = path.join(dir, 'app.cjs');
    await writeFile(script, SCRIPT);
    const env = {
      ...process.env,
      OTEL_SDK_DISABLED: 'true',
      BREAKWATER_TIMEOUT_MS: '200',
      BREAKWATER_RETRY_BASE_DELAY_MS: '1',
      BREAKWATER_RETRY_MAX_DELAY_MS: '5',
      GOOD_URL: server.url,
      DEAD_URL: `redis://127.0.0.1:${await freePort()}`,
      REDIS4: createRequire(path.join(compatDir('older'), 'package.json')).resolve('redis'),
    };
    const { stdout } = await run(process.execPath, ['--require', register, script], { env, timeout: 30_000 });
    const out = JSON.parse(stdout) as { get: string; code: string; ms: number };
    expect(out.get).to.equal('hooked');
    expect(out.code).to.equal('BREAKWATER_TIMEOUT');
    expect(out.ms).to.be.below(5_000);
  });
});
