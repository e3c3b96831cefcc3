import { expect } from 'chai';
import { inspect } from 'node:util';
import { stringify } from 'yaml';
import { main } from '../../src/cli.js';
import { fleetEndpoint } from '../../src/config/index.js';
import { credentialsOf } from '../../src/fleet/redis-url.js';
import { FILE, load, problemsOf } from '../helpers/config.js';

const PASSWORD = 'hunter2-Secret';
const URL_WITH_PASSWORD = `redis://app:${PASSWORD}@Cache.internal:6380/2`;

/** Runs `breakwater config` in-process with only these variables; what it printed. */
async function cli(env: Record<string, string>, args: string[] = ['config']): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe('config: fleet mode', () => {
  it('is off by default: no Redis, no policy in fleet mode', () => {
    const config = load(undefined);
    expect(config.fleet).to.equal(false);
    expect(config.defaults.fleet).to.equal(false);
    expect(fleetEndpoint(config)).to.equal(undefined);
  });

  it('a Redis URL alone turns nothing on: no policy asks for the fleet', () => {
    const config = load(undefined, { BREAKWATER_FLEET_REDIS_URL: 'redis://127.0.0.1:6379', OTEL_SERVICE_NAME: 'checkout' });
    expect(config.fleet).to.deep.equal({ redisUrl: 'redis://127.0.0.1:6379/0', redisCluster: false, service: 'checkout', expectedInstances: 1, syncMs: 250, policies: [] });
    expect(config.defaults.fleet).to.equal(false);
  });

  it('reads every variable together; the URL is shown without its credentials, which only fleetEndpoint holds', () => {
    const config = load(undefined, {
      BREAKWATER_FLEET_REDIS_URL: URL_WITH_PASSWORD,
      BREAKWATER_FLEET_SERVICE: 'checkout',
      BREAKWATER_FLEET_EXPECTED_INSTANCES: '4',
      BREAKWATER_FLEET_SYNC_MS: '100',
      BREAKWATER_FLEET: 'true',
    });
    expect(config.fleet).to.deep.equal({ redisUrl: 'redis://cache.internal:6380/2', redisCluster: false, service: 'checkout', expectedInstances: 4, syncMs: 100, policies: ['default'] });
    expect(config.defaults.fleet).to.equal(true);
    expect(config.origins.top).to.include({
      'fleet.redisUrl': 'BREAKWATER_FLEET_REDIS_URL',
      'fleet.service': 'BREAKWATER_FLEET_SERVICE',
      'fleet.expectedInstances': 'BREAKWATER_FLEET_EXPECTED_INSTANCES',
      'fleet.syncMs': 'BREAKWATER_FLEET_SYNC_MS',
    });
    expect(config.origins.defaults).to.include({ fleet: 'BREAKWATER_FLEET' });
    const endpoint = fleetEndpoint(config)!;
    expect({ host: endpoint.host, port: endpoint.port, db: endpoint.db, tls: endpoint.tls }).to.deep.equal({ host: 'cache.internal', port: 6380, db: 2, tls: false });
    expect(credentialsOf(endpoint)).to.deep.equal({ username: 'app', password: PASSWORD });
    for (const printed of [JSON.stringify(config), stringify(config), inspect(config, { depth: Infinity })]) {
      expect(printed).not.to.include(PASSWORD);
      expect(printed).not.to.include('app:');
    }
  });

  it('takes the service name from OTEL_SERVICE_NAME when breakwater sets none, and says so', () => {
    const url = { BREAKWATER_FLEET_REDIS_URL: 'redis://127.0.0.1' };
    const fromOtel = load(undefined, { ...url, OTEL_SERVICE_NAME: ' orders ' });
    expect(fromOtel.fleet && fromOtel.fleet.service).to.equal('orders');
    expect(fromOtel.origins.top['fleet.service']).to.equal('OTEL_SERVICE_NAME');
    expect(fromOtel.sources.env, 'only BREAKWATER_* variables are listed as sources').to.deep.equal(['BREAKWATER_FLEET_REDIS_URL']);
    const ours = load(undefined, { ...url, OTEL_SERVICE_NAME: 'orders', BREAKWATER_FLEET_SERVICE: 'orders-fleet' });
    expect(ours.fleet && ours.fleet.service).to.equal('orders-fleet');
    const fromFile = load('fleet: { service: from-file }\n', { ...url, OTEL_SERVICE_NAME: 'orders' });
    expect(fromFile.fleet && fromFile.fleet.service).to.equal('from-file');
    expect(fromFile.origins.top['fleet.service']).to.equal(`${FILE}:1: fleet.service`);
  });

  it('stops without a service name: a shared default would let two services share their quotas', () => {
    expect(problemsOf(undefined, { BREAKWATER_FLEET_REDIS_URL: URL_WITH_PASSWORD })).to.deep.equal([
      "BREAKWATER_FLEET_REDIS_URL is not accepted without a service name: set BREAKWATER_FLEET_SERVICE (fleet.service in the file) or OTEL_SERVICE_NAME; it namespaces the fleet's keys in Redis, so that two services sharing one Redis never share a quota",
    ]);
    expect(problemsOf(`fleet:\n  redisUrl: "${URL_WITH_PASSWORD}"\n`)[0]).to.match(new RegExp(`^${FILE}:2: fleet\\.redisUrl is not accepted without a service name`));
  });

  it('reads the file: a top-level fleet section, and fleet: true in the policies that use it', () => {
    const text = [
      'fleet:', //                                                 1
      `  redisUrl: "${URL_WITH_PASSWORD}"`, //                     2
      '  service: checkout', //                                    3
      '  expectedInstances: 6', //                                 4
      'targets:', //                                               5
      '  - match: "https://api.example.com:*"', //                 6
      '    policy: { name: api, fleet: true, rateLimit: { ratePerSecond: 100, burst: 20 } }', // 7
      '  - match: "postgresql://*"', //                            8
      '    policy: { timeoutMs: 2000 }', //                        9
    ].join('\n');
    const config = load(text);
    expect(config.fleet).to.deep.equal({ redisUrl: 'redis://cache.internal:6380/2', redisCluster: false, service: 'checkout', expectedInstances: 6, syncMs: 250, policies: ['api'] });
    expect(config.targets.map((t) => t.policy.fleet)).to.deep.equal([true, false]);
    expect(config.origins.top['fleet.redisUrl']).to.equal(`${FILE}:2: fleet.redisUrl`);
    expect(config.origins.targets[0]).to.include({ fleet: `${FILE}:7: targets[0].policy.fleet` });
    expect(credentialsOf(fleetEndpoint(config)!)?.password).to.equal(PASSWORD);
    // The variables win over the file's top level, as for every top-level setting.
    const overridden = load(text, { BREAKWATER_FLEET_REDIS_URL: 'rediss://other.internal' });
    expect(overridden.fleet && overridden.fleet.redisUrl).to.equal('rediss://other.internal:6379/0');
    expect(credentialsOf(fleetEndpoint(overridden)!)).to.equal(undefined);
  });

  it('BREAKWATER_FLEET_REDIS_CLUSTER (fleet.redisCluster) says the URL is a Redis Cluster node, which has database 0 only', () => {
    const env = { BREAKWATER_FLEET_REDIS_URL: 'redis://127.0.0.1:7000', BREAKWATER_FLEET_SERVICE: 's', BREAKWATER_FLEET_REDIS_CLUSTER: 'true' };
    const config = load(undefined, env);
    expect(config.fleet && config.fleet.redisCluster).to.equal(true);
    expect(config.origins.top['fleet.redisCluster']).to.equal('BREAKWATER_FLEET_REDIS_CLUSTER');
    const fromFile = load('fleet:\n  redisUrl: "redis://127.0.0.1:7000"\n  redisCluster: true\n  service: s\n');
    expect(fromFile.fleet && fromFile.fleet.redisCluster).to.equal(true);
    const problems = problemsOf(undefined, { ...env, BREAKWATER_FLEET_REDIS_URL: `redis://app:${PASSWORD}@cache:6379/2` });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include('BREAKWATER_FLEET_REDIS_CLUSTER="true" is not accepted with database 2').and.include('a Redis Cluster has database 0 only');
    expect(problems[0]).not.to.include(PASSWORD);
    expect(problemsOf(undefined, { ...env, BREAKWATER_FLEET_REDIS_CLUSTER: 'yes please' })[0]).to.include('BREAKWATER_FLEET_REDIS_CLUSTER');
  });

  it('BREAKWATER_FLEET puts every policy in fleet mode but those whose file policy says fleet: false', () => {
    const text = 'targets:\n  - match: "a*"\n    policy: { name: a }\n  - match: "b*"\n    policy: { name: b, fleet: false }\n';
    const config = load(text, { BREAKWATER_FLEET_REDIS_URL: 'redis://127.0.0.1', BREAKWATER_FLEET_SERVICE: 's', BREAKWATER_FLEET: 'true' });
    expect(config.fleet && config.fleet.policies).to.deep.equal(['default', 'a']);
  });

  it('stops when a policy asks for the fleet and no Redis is configured, naming each value that asked once', () => {
    const text = 'targets:\n  - match: "a*"\n    policy: { name: a }\n  - match: "b*"\n    policy: { fleet: true }\n';
    expect(problemsOf(text, { BREAKWATER_FLEET: 'true' })).to.deep.equal([
      'BREAKWATER_FLEET="true" is not accepted without a Redis for the fleet: set BREAKWATER_FLEET_REDIS_URL (fleet.redisUrl in the file)',
      `${FILE}:5: targets[1].policy.fleet: true is not accepted without a Redis for the fleet: set BREAKWATER_FLEET_REDIS_URL (fleet.redisUrl in the file)`,
    ]);
  });

  it('a bad URL stops start-up with its reason and never the URL (nor its password)', () => {
    const cases: Array<[url: string, reason: string]> = [
      [`http://app:${PASSWORD}@cache:6379`, 'the scheme must be redis: or rediss:'],
      [`redis://app:${PASSWORD}@cache:6379/x`, 'the path must be a database number, as in /0'],
      [`redis://app:${PASSWORD}@cache:6379/0?tls=true`, 'query strings and fragments are not supported'],
      [`redis://app:${PASSWORD}@cache:99999`, 'not a URL'],
      [`redis://app%zz:${PASSWORD}@cache`, 'the user name is not valid percent-encoding'],
    ];
    for (const [url, reason] of cases) {
      const problems = problemsOf(undefined, { BREAKWATER_FLEET_REDIS_URL: url, BREAKWATER_FLEET_SERVICE: 's' });
      expect(problems, url).to.deep.equal([
        `BREAKWATER_FLEET_REDIS_URL is not accepted (value not shown: it may hold a password): expected a Redis URL, redis://[user[:password]@]host[:port][/db] or rediss://… for TLS (${reason})`,
      ]);
      const inFile = problemsOf(`fleet:\n  service: s\n  redisUrl: "${url}"\n`);
      expect(inFile, url).to.deep.equal([
        `${FILE}:3: fleet.redisUrl: (value not shown: it may hold a password) is not accepted: expected a Redis URL, redis://[user[:password]@]host[:port][/db] or rediss://… for TLS (${reason})`,
      ]);
    }
    // Nor when the URL is not where it belongs: a whole section, or under a misspelt key.
    const misplaced = [...problemsOf(`fleet: "${URL_WITH_PASSWORD}"\n`), ...problemsOf(`fleet:\n  redisURL: "${URL_WITH_PASSWORD}"\n`), ...problemsOf(`fleet:\n  redisUrl: 6379\n`)];
    expect(misplaced).to.deep.equal([
      `${FILE}:1: fleet: a text value is not accepted: expected a mapping with any of redisUrl, redisCluster, service, expectedInstances, syncMs`,
      `${FILE}:2: fleet.redisURL: unknown key (did you mean redisUrl?)`,
      `${FILE}:2: fleet.redisUrl: (value not shown: it may hold a password) is not accepted: expected a Redis URL, redis://[user[:password]@]host[:port][/db] or rediss://… for TLS (not text)`,
    ]);
  });

  it('npx breakwater config shows fleet mode (URL without credentials, service, policies) and never the password', async () => {
    const ok = await cli({ BREAKWATER_FLEET_REDIS_URL: URL_WITH_PASSWORD, OTEL_SERVICE_NAME: 'checkout', BREAKWATER_FLEET: '1' });
    expect(ok.code, ok.stderr).to.equal(0);
    const printed = JSON.parse(ok.stdout) as { fleet: unknown; origins: { top: Record<string, string> } };
    expect(printed.fleet).to.deep.equal({ redisUrl: 'redis://cache.internal:6380/2', redisCluster: false, service: 'checkout', expectedInstances: 1, syncMs: 250, policies: ['default'] });
    expect(printed.origins.top['fleet.service']).to.equal('OTEL_SERVICE_NAME');
    const yaml = await cli({ BREAKWATER_FLEET_REDIS_URL: URL_WITH_PASSWORD, OTEL_SERVICE_NAME: 'checkout' }, ['config', '--format', 'yaml']);
    const bad = await cli({ BREAKWATER_FLEET_REDIS_URL: `${URL_WITH_PASSWORD}?x=1`, OTEL_SERVICE_NAME: 'checkout' });
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('BREAKWATER_FLEET_REDIS_URL is not accepted');
    for (const run of [ok, yaml, bad]) expect(run.stdout + run.stderr).not.to.include(PASSWORD);
  });
});
