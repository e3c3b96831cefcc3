import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { startStatusServer } from '../../register/status-server.js';
import { eventually } from '../helpers/eventually.js';
import { OtelHarness } from '../helpers/otel.js';
import { redis, type RedisServer } from '../integration/servers.js';

const FLEET_TARGET = 'https://quota.example.com:443';
const LOCAL_TARGET = 'https://local.example.com:443';

function getJson(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

describe('runtime: fleet mode wired from the configuration (real redis-server)', function () {
  this.timeout(60_000);
  let server: RedisServer;
  const runtimes: Runtime[] = [];

  before(async function () {
    this.timeout(15 * 60_000);
    server = await redis();
  });

  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.close();
  });

  function runtime(file: string, env: Record<string, string> = {}): Runtime {
    const config = loadConfig({ BREAKWATER_CONFIG: 'bw.yaml', BREAKWATER_FLEET_REDIS_URL: server.url, BREAKWATER_FLEET_SERVICE: `runtime-test-${process.pid}`, ...env }, { readFile: () => file });
    const made = new Runtime(config);
    runtimes.push(made);
    return made;
  }

  const FILE = [
    'targets:',
    '  - match: "https://quota.example.com:*"',
    '    policy: { name: quota, fleet: true, rateLimit: { ratePerSecond: 50, burst: 5 } }',
    '  - match: "https://local.example.com:*"',
    '    policy: { name: local, rateLimit: { ratePerSecond: 50, burst: 5 } }',
  ].join('\n');

  it('a fleet-mode policy\'s rate is the fleet\'s (decision fleet once leased); other policies stay local', async () => {
    const rt = runtime(FILE);
    expect(rt.fleetStatus()).to.deep.include({ connection: 'idle', policies: ['quota'], redis: `redis://127.0.0.1:${server.port}/0` });
    await rt.execute(() => 'ok', { target: LOCAL_TARGET });
    expect(rt.fleetStatus()!.connection, 'a local policy dials nothing').to.equal('idle');
    await eventually(async () => {
      await rt.execute(() => 'ok', { target: FLEET_TARGET }).catch(() => undefined);
      return rt.circuit(FLEET_TARGET).stats.rate?.decision === 'fleet';
    }, 5000, 'the fleet decides');
    expect(rt.fleetStatus()).to.deep.include({ connection: 'up' });
    expect(rt.circuit(LOCAL_TARGET).stats.rate?.decision).to.equal('local');
    await rt.close();
    expect(rt.fleetStatus()!.connection).to.equal('closed');
  });

  it('no policy in fleet mode: no connection at all (the URL alone turns nothing on)', async () => {
    const rt = runtime(FILE.replace('fleet: true, ', ''));
    await rt.execute(() => 'ok', { target: FLEET_TARGET });
    expect(rt.fleetStatus()).to.deep.include({ connection: 'unused', policies: [] });
    expect(rt.circuit(FLEET_TARGET).stats.rate?.decision).to.equal('local');
  });

  it('the status endpoint shows fleet mode (GET /fleet) without the URL\'s password; no fleet: {"fleet": false}', async () => {
    const rt = runtime(FILE);
    await eventually(async () => {
      await rt.execute(() => 'ok', { target: FLEET_TARGET }).catch(() => undefined);
      return rt.fleetStatus()!.connection === 'up';
    }, 5000, 'up');
    const status = await startStatusServer(rt, { port: 0, host: '127.0.0.1', token: undefined });
    const plain = new Runtime(loadConfig({}));
    const plainStatus = await startStatusServer(plain, { port: 0, host: '127.0.0.1', token: undefined });
    try {
      const port = (status.address() as AddressInfo).port;
      const fleet = (await getJson(port, '/fleet')) as { fleet: Record<string, unknown> };
      expect(fleet.fleet).to.deep.include({ redis: `redis://127.0.0.1:${server.port}/0`, service: `runtime-test-${process.pid}`, expectedInstances: 1, policies: ['quota'], connection: 'up' });
      const breakers = await getJson(port, '/breakers');
      for (const body of [fleet, breakers]) expect(JSON.stringify(body)).not.to.include(server.password);
      expect(JSON.stringify(breakers)).to.include('"decision":"fleet"');
      expect(await getJson((plainStatus.address() as AddressInfo).port, '/fleet')).to.deep.equal({ fleet: false });
    } finally {
      status.close();
      plainStatus.close();
    }
  });

  it('breakwater\'s own Redis connection records no span and no metric point, however much it leases', async () => {
    const otel = new OtelHarness().install();
    try {
      const rt = runtime(FILE);
      await eventually(async () => {
        await rt.execute(() => 'ok', { target: FLEET_TARGET }).catch(() => undefined);
        return rt.circuit(FLEET_TARGET).stats.rate?.decision === 'fleet';
      }, 5000, 'the fleet decides');
      for (let i = 0; i < 20; i++) await rt.execute(() => 'ok', { target: FLEET_TARGET }).catch(() => undefined);
      // The calls' attempt spans, and a rejection span for a call the quota turned away: nothing else.
      const names = new Set(otel.spans().map((s) => s.name));
      expect([...names].filter((name) => name !== 'resilience.rejected'), 'only the calls\' spans').to.deep.equal(['quota attempt']);
      expect(otel.spans().map((s) => s.attributes['resilience.target']).filter((t) => t !== FLEET_TARGET), 'spans of another target').to.deep.equal([]);
      expect(otel.spans().filter((s) => s.attributes['db.system.name'] !== undefined || s.attributes['db.system'] !== undefined), 'database spans').to.deep.equal([]);
      const metrics = await otel.collect();
      expect(metrics.has('db.client.operation.duration'), 'no Redis command measured').to.equal(false);
      // The gauges observe every runtime of this process (other tests' Redis clients on the
      // same server among them): this runtime's own targets are what the fleet could add to.
      expect(rt.circuits().map((c) => c.target).filter((target) => /^rediss?:/.test(target)), 'Redis targets of this runtime').to.deep.equal([]);
      // (With an application's own SDK and auto-instrumentations, test/e2e/fleet.test.ts checks the exported spans and points.)
    } finally {
      await otel.uninstall();
    }
  });
});
