// breakwater/register hooks node-redis (6, and 4 from test/compat/older) with no change to
// the application: a CommonJS script under --require and an ESM script
// (import { createClient } from 'redis') under --import, each in its own process against
// the real server. The proof that the hook is in place is behavioural: a command to a
// port where nothing listens waits in node-redis's offline queue (for its own 5 s command
// timeout in v6, for ever in v4) without breakwater, and fails at breakwater's attempt
// timeout (code BREAKWATER_TIMEOUT) with it.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { redis as redisServer, type RedisServer } from '../../integration/servers.js';
import { compatDir } from '../../compat/modules.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const worktree = path.resolve(here, '../../../..');
const register = path.join(worktree, 'dist/cjs/register/index.js');

// node-redis 4 has disconnect() where 6 has destroy().
const BODY = `
const close = (client) => (typeof client.destroy === 'function' ? client.destroy() : client.disconnect().catch(() => {}));
const out = {};
const good = createClient({ url: process.env.GOOD_URL });
good.on('error', () => {});
await good.connect();
await good.set('bw:register', 'hooked');
out.get = await good.get('bw:register');
await close(good);
const dead = createClient({ url: process.env.DEAD_URL, socket: { reconnectStrategy: () => 50 } });
dead.on('error', () => {});
dead.connect().catch(() => {});
const started = Date.now();
try { await dead.incr('bw:register:n'); } catch (e) { out.code = e.code ?? e.constructor.name; }
out.ms = Date.now() - started;
await close(dead);
process.stdout.write(JSON.stringify(out));
process.exit(0);
`;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** How each script names node-redis: the project's own by package name, v4 by its resolved path. */
const VERSIONS: Array<{ name: string; cjs: () => string; esm: () => string }> = [
  { name: 'node-redis 6', cjs: () => 'redis', esm: () => 'redis' },
  {
    name: 'node-redis 4',
    cjs: () => createRequire(path.join(compatDir('older'), 'package.json')).resolve('redis'),
    esm: () => pathToFileURL(createRequire(path.join(compatDir('older'), 'package.json')).resolve('redis')).href,
  },
];

describe('redis adapter (node-redis) under breakwater/register, in a child process', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await redisServer();
    // Inside the worktree, so the scripts resolve 'redis' from its node_modules.
    dir = await mkdtemp(path.join(worktree, 'build', 'redis-register-'));
    env = {
      ...process.env,
      OTEL_SDK_DISABLED: 'true',
      BREAKWATER_TIMEOUT_MS: '200',
      BREAKWATER_RETRY_BASE_DELAY_MS: '1',
      BREAKWATER_RETRY_MAX_DELAY_MS: '5',
      GOOD_URL: server.url,
      DEAD_URL: `redis://127.0.0.1:${await freePort()}`,
    };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function expectHooked(args: string[]): Promise<void> {
    const { stdout, stderr } = await run(process.execPath, args, { env, cwd: dir, timeout: 30_000 });
    const out = JSON.parse(stdout) as { get: string; code: string; ms: number };
    expect(out.get).to.equal('hooked');
    expect(out.code, stderr).to.equal('BREAKWATER_TIMEOUT');
    expect(out.ms).to.be.below(4000);
    expect(stderr).to.not.include(server.password);
  }

  for (const version of VERSIONS) {
    it(`${version.name}, CommonJS: node --require breakwater/register app.cjs`, async () => {
      const script = path.join(dir, `app-${version.name.replace(/\W+/g, '-')}.cjs`);
      await writeFile(script, `const { createClient } = require(${JSON.stringify(version.cjs())});\n(async () => {${BODY}})();\n`);
      await expectHooked(['--require', register, script]);
    });

    it(`${version.name}, ESM: node --import breakwater/register app.mjs with import { createClient } from 'redis'`, async () => {
      const script = path.join(dir, `app-${version.name.replace(/\W+/g, '-')}.mjs`);
      await writeFile(script, `import { createClient } from ${JSON.stringify(version.esm())};\n${BODY}\n`);
      await expectHooked(['--import', pathToFileURL(register).href, script]);
    });
  }
});
