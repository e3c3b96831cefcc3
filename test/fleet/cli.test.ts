import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { main } from '../../src/cli.js';
import { breakerArgs, BREAKER_SYNC_SCRIPT, type BreakerExchange } from '../../src/fleet/breaker-script.js';
import { fleetKey } from '../../src/fleet/keys.js';
import { parseRedisUrl } from '../../src/fleet/redis-url.js';
import { RespClient } from '../../src/fleet/resp-client.js';
import { ScriptRunner } from '../../src/fleet/script-runner.js';
import { REPO_ROOT } from '../helpers/child.js';
import { redis, type RedisServer } from '../integration/servers.js';

/** Runs the CLI in-process with only these variables. */
async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** A port nobody listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('cli: breakwater fleet (a real redis-server)', function () {
  this.timeout(60_000);
  let server: RedisServer;

  before(async function () {
    this.timeout(15 * 60_000);
    server = await redis();
  });

  const env = (url: string): Record<string, string> => ({ BREAKWATER_FLEET_REDIS_URL: url, BREAKWATER_FLEET_SERVICE: 'checkout', BREAKWATER_FLEET: 'true' });

  it('connects and says the Redis answers, naming it without its password', async () => {
    const run = await cli(['fleet'], env(server.url));
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.deep.equal({
      fleet: { redis: `redis://127.0.0.1:${server.port}/0`, service: 'checkout', expectedInstances: 1, policies: ['default'], shared: ['rate', 'breaker', 'budget'], connection: 'up', breakers: [] },
    });
    expect(run.stdout + run.stderr).not.to.include(server.password);
  });

  it("lists the service's breakers as the fleet holds them: open (with the time left), probing, closed; not another service's", async () => {
    const client = new RespClient(parseRedisUrl(server.url));
    const runner = new ScriptRunner(client, BREAKER_SYNC_SCRIPT);
    const exchange = (target: string, service: string, fields: Partial<BreakerExchange>) =>
      runner.run(
        [fleetKey(service, target, 'breaker'), fleetKey(service, target, 'probe')],
        breakerArgs({ now: undefined, instanceId: 'a', epoch: 0, report: undefined, wantProbe: false, rule: { mode: 'consecutive', threshold: 3 }, calls: 0, failures: 0, slow: 0, reset: false, openMs: 30_000, maxOpenMs: 60_000, permitMs: 1000, ttlMs: 60_000, target, ...fields }),
        1000,
      );
    try {
      await exchange('https://pay.example.com:443', 'checkout', { report: 'open' });
      await exchange('postgresql://db:5432/orders', 'checkout', { report: 'open', now: Date.now() - 60_000, openMs: 1000 });
      await exchange('redis://cache:6379/0', 'checkout', { failures: 1 });
      await exchange('https://other.example.com:443', 'search', { report: 'open' });
      const run = await cli(['fleet'], env(server.url));
      expect(run.code, run.stderr).to.equal(0);
      const { breakers } = JSON.parse(run.stdout).fleet as { breakers: Array<Record<string, unknown>> };
      expect(breakers.map((b) => [b.target, b.state, b.opens])).to.deep.equal([
        ['https://pay.example.com:443', 'open', 1],
        ['postgresql://db:5432/orders', 'half_open', 1],
        ['redis://cache:6379/0', 'closed', 0],
      ]);
      expect(breakers[0]!.remainingMs).to.be.within(25_000, 30_000);
      expect(breakers[1]!.remainingMs).to.equal(0);
    } finally {
      await client.command(['FLUSHDB'], 1000);
      await client.close();
    }
  });

  it('a Redis user that may not SCAN: up, exit 0, and why the breakers are not listed, without its password', async () => {
    const admin = new RespClient(parseRedisUrl(server.url));
    try {
      await admin.command(['ACL', 'SETUSER', 'no-scan', 'on', '>no-scan-pass-9', '~bw:*', '+@all', '-scan'], 1000);
      const run = await cli(['fleet'], env(`redis://no-scan:no-scan-pass-9@127.0.0.1:${server.port}`));
      expect(run.code, run.stderr).to.equal(0);
      const { fleet } = JSON.parse(run.stdout) as { fleet: Record<string, unknown> };
      expect(fleet).to.include({ connection: 'up' });
      expect(fleet['breakers']).to.equal(undefined);
      expect(fleet['breakersError']).to.match(/NOPERM|permission/i);
      expect(run.stdout + run.stderr).not.to.include('no-scan-pass-9');
    } finally {
      await admin.command(['ACL', 'DELUSER', 'no-scan'], 1000);
      await admin.close();
    }
  });

  it('exits 3 when the Redis does not answer, or refuses the password; says why without it', async () => {
    const dead = await cli(['fleet', '--format', 'yaml'], env(`redis://:${server.password}@127.0.0.1:${await deadPort()}`));
    expect(dead.code).to.equal(3);
    expect(dead.stdout).to.match(/connection: down\n/).and.to.match(/lastError: .*ECONNREFUSED/);
    const wrong = await cli(['fleet'], env(`redis://:not-the-password-7@127.0.0.1:${server.port}`));
    expect(wrong.code).to.equal(3);
    expect(JSON.parse(wrong.stdout).fleet.lastError).to.match(/AUTH/);
    for (const run of [dead, wrong]) expect(run.stdout + run.stderr).not.to.include(server.password).and.not.to.include('not-the-password-7');
  });

  it('without fleet mode: {"fleet": false}, exit 0; an invalid configuration: exit 1, as config', async () => {
    expect(await cli(['fleet'], {})).to.deep.equal({ code: 0, stdout: '{\n  "fleet": false\n}\n', stderr: '' });
    const invalid = await cli(['fleet'], { BREAKWATER_FLEET: 'true' });
    expect(invalid.code).to.equal(1);
    expect(invalid.stderr).to.include('BREAKWATER_FLEET="true" is not accepted without a Redis for the fleet');
  });

  it('as a process (bin/breakwater.cjs): waits for the answer, though the client never holds a process up', () => {
    const result = spawnSync(process.execPath, ['bin/breakwater.cjs', 'fleet'], { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '', ...env(server.url) }, encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout).fleet.connection).to.equal('up');
  });
});
