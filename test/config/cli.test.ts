import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { USAGE, main } from '../../src/cli.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'bin', 'breakwater.cjs');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/breakwater.cjs ...args` with only these variables (and PATH), never the test's own BREAKWATER_*. */
function breakwater(args: string[], env: Record<string, string> = {}): Run {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectNoStack(run: Run): void {
  expect(run.stderr).not.to.match(/^\s+at /m);
}

/** Exit 1 with these problems on stderr, in the format the test of one bad variable spells out, and nothing on stdout. */
function expectProblems(run: Run, problems: string[]): void {
  expect(run.status).to.equal(1);
  expect(run.stdout).to.equal('');
  expect(run.stderr).to.equal(`breakwater: invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}\n`).join('')}`);
  expectNoStack(run);
}

describe('cli: breakwater config', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bw-cli-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('prints the effective configuration as JSON and exits 0', () => {
    const path = file('good.yaml', 'defaults:\n  retry: { maxAttempts: 4 }\ntargets:\n  - match: "https://api.example.com:*"\n    policy: { name: api, breaker: { mode: consecutive } }\n');
    const run = breakwater(['config'], { BREAKWATER_CONFIG: path, BREAKWATER_TIMEOUT_MS: '2500' });
    expect(run.stderr).to.equal('');
    expect(run.status).to.equal(0);
    const config = JSON.parse(run.stdout);
    expect(config.defaults.retry.maxAttempts).to.equal(4);
    expect(config.defaults.timeoutMs).to.equal(2500);
    expect(config.targets[0].policy).to.deep.include({ name: 'api', timeoutMs: 2500 });
    expect(config.targets[0].policy.breaker.mode).to.equal('consecutive');
    expect(config.sources).to.deep.equal({ file: path, env: ['BREAKWATER_CONFIG', 'BREAKWATER_TIMEOUT_MS'] });
    expect(run.stdout).to.match(/^\{\n {2}"enabled": true,/); // pretty-printed
  });

  it('prints where each value of every policy came from: default, file:line, or variable', () => {
    const path = file('origins.yaml', 'defaults:\n  timeoutMs: 2000\ntargets:\n  - match: "postgresql://*"\n    policy: { retry: false }\n');
    const run = breakwater(['config'], { BREAKWATER_CONFIG: path, BREAKWATER_RETRY_MAX_ATTEMPTS: '3' });
    expect(run.status, run.stderr).to.equal(0);
    const { origins, defaults, targets } = JSON.parse(run.stdout);
    expect(defaults.retry.maxAttempts).to.equal(3);
    expect(origins.defaults).to.include({ timeoutMs: `${path}:2: defaults.timeoutMs`, 'retry.maxAttempts': 'BREAKWATER_RETRY_MAX_ATTEMPTS', 'retry.jitter': 'default' });
    expect(targets[0].policy.retry.maxAttempts).to.equal(1);
    expect(origins.targets[0]).to.include({ 'retry.maxAttempts': `${path}:5: targets[0].policy.retry`, timeoutMs: `${path}:2: defaults.timeoutMs` });
  });

  it('prints the hedge settings of every policy with their origins', () => {
    const path = file('hedge.yaml', 'defaults:\n  hedge: { percentile: 0.9 }\ntargets:\n  - match: "https://search.example.com:*"\n    policy:\n      hedge: { enabled: true, delayMs: 40 }\n');
    const run = breakwater(['config'], { BREAKWATER_CONFIG: path, BREAKWATER_HEDGE_MAX_HEDGES: '2' });
    expect(run.status, run.stderr).to.equal(0);
    const { origins, defaults, targets } = JSON.parse(run.stdout);
    expect(defaults.hedge).to.equal(false); // off unless asked for
    expect(origins.defaults).to.include({ 'hedge.enabled': 'default', 'hedge.percentile': `${path}:2: defaults.hedge.percentile`, 'hedge.maxHedges': 'BREAKWATER_HEDGE_MAX_HEDGES' });
    expect(targets[0].policy.hedge).to.deep.equal({ enabled: true, delayMs: 40, percentile: 0.9, minDelayMs: 1, maxDelayMs: 10000, minSamples: 20, maxHedges: 2, budgetRatio: 0.1 });
    expect(origins.targets[0]).to.include({
      'hedge.enabled': `${path}:6: targets[0].policy.hedge.enabled`,
      'hedge.delayMs': `${path}:6: targets[0].policy.hedge.delayMs`,
      'hedge.percentile': `${path}:2: defaults.hedge.percentile`,
      'hedge.maxHedges': 'BREAKWATER_HEDGE_MAX_HEDGES',
      'hedge.budgetRatio': 'default',
    });
    const yaml = breakwater(['config', '--format', 'yaml'], { BREAKWATER_HEDGE: 'true' });
    expect(yaml.status, yaml.stderr).to.equal(0);
    expect(parse(yaml.stdout).defaults.hedge).to.include({ enabled: true, delayMs: 'adaptive', percentile: 0.95 });
  });

  it('exits 1 on bad hedge values, naming each variable, its value and what is accepted', () => {
    const run = breakwater(['config'], { BREAKWATER_HEDGE_DELAY_MS: 'fast', BREAKWATER_HEDGE_PERCENTILE: '2', BREAKWATER_HEDGE_MAX_HEDGES: '0' });
    expectProblems(run, [
      'BREAKWATER_HEDGE_DELAY_MS="fast" is not accepted: expected an integer from 0 to 2147483647, or adaptive',
      'BREAKWATER_HEDGE_MAX_HEDGES="0" is not accepted: expected an integer >= 1',
      'BREAKWATER_HEDGE_PERCENTILE="2" is not accepted: expected a number > 0 and < 1, the percentile as a share (0.95 for p95) (did you mean 0.02?)',
    ]);
  });

  it('prints the overload-protection settings of every policy with their origins', () => {
    const path = file('limits.yaml', 'defaults:\n  rateLimit: { burst: 5 }\ntargets:\n  - match: "https://inventory.example.com:*"\n    policy:\n      concurrencyLimit: { mode: adaptive, maxLimit: 200 }\n');
    const run = breakwater(['config'], { BREAKWATER_CONFIG: path, BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE: '20', BREAKWATER_RATE_LIMIT_PER_SECOND: '10' });
    expect(run.status, run.stderr).to.equal(0);
    const { origins, defaults, targets } = JSON.parse(run.stdout);
    expect(defaults.concurrencyLimit).to.equal(false); // off unless asked for
    expect(defaults.rateLimit).to.deep.equal({ ratePerSecond: 10, burst: 5, fromHeaders: false, maxWaitMs: 1000 });
    expect(origins.defaults).to.include({
      'concurrencyLimit.mode': 'default',
      'concurrencyLimit.maxQueue': 'BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE',
      'rateLimit.ratePerSecond': 'BREAKWATER_RATE_LIMIT_PER_SECOND',
      'rateLimit.burst': `${path}:2: defaults.rateLimit.burst`,
      'rateLimit.fromHeaders': 'default',
    });
    expect(targets[0].policy.concurrencyLimit).to.deep.equal({
      mode: 'adaptive',
      initialLimit: 20,
      minLimit: 1,
      maxLimit: 200,
      buffer: 0.25,
      sampleWindowMs: 250,
      minRttIntervalMs: 60000,
      maxQueue: 20,
      maxWaitMs: 50,
    });
    expect(origins.targets[0]).to.include({
      'concurrencyLimit.mode': `${path}:6: targets[0].policy.concurrencyLimit.mode`,
      'concurrencyLimit.maxLimit': `${path}:6: targets[0].policy.concurrencyLimit.maxLimit`,
      'concurrencyLimit.maxQueue': 'BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE',
      'concurrencyLimit.buffer': 'default',
    });
    const yaml = breakwater(['config', '--format', 'yaml'], { BREAKWATER_CONCURRENCY_LIMIT: 'adaptive', BREAKWATER_CONCURRENCY_LIMIT_MAX: '10' });
    expect(yaml.status, yaml.stderr).to.equal(0);
    const printed = parse(yaml.stdout);
    expect(printed.defaults.concurrencyLimit).to.include({ mode: 'adaptive', initialLimit: 10, maxLimit: 10 });
    expect(printed.origins.defaults['concurrencyLimit.initialLimit']).to.equal('default, fitted to concurrencyLimit.maxLimit');
  });

  it('exits 1 on bad limit values, naming each variable, its value and what is accepted', () => {
    const run = breakwater(['config'], {
      BREAKWATER_CONCURRENCY_LIMIT: 'on',
      BREAKWATER_CONCURRENCY_LIMIT_MIN: '50',
      BREAKWATER_CONCURRENCY_LIMIT_MAX: '10',
      BREAKWATER_RATE_LIMIT_PER_SECOND: '-5',
    });
    // The values each variable refuses first, then what only the merged values show.
    expectProblems(run, [
      'BREAKWATER_CONCURRENCY_LIMIT="on" is not accepted: expected one of adaptive, off',
      'BREAKWATER_RATE_LIMIT_PER_SECOND="-5" is not accepted: expected a number >= 0 (0 = no hand-set rate)',
      'BREAKWATER_CONCURRENCY_LIMIT_MAX="10" is not accepted: must be at least concurrencyLimit.minLimit, which is 50 (BREAKWATER_CONCURRENCY_LIMIT_MIN)',
    ]);
  });

  it('prints YAML with --format yaml', () => {
    const run = breakwater(['config', '--format', 'yaml'], { BREAKWATER_RETRY_JITTER: 'equal' });
    expect(run.status).to.equal(0);
    expect(parse(run.stdout).defaults.retry.jitter).to.equal('equal');
    expect(breakwater(['config', '--format=json']).status).to.equal(0);
  });

  it('exits 1 on a bad variable value, naming the variable, the value and what is accepted', () => {
    const run = breakwater(['config'], { BREAKWATER_RETRY_JITTER: 'ful' });
    expect(run.status).to.equal(1);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.equal(
      'breakwater: invalid configuration (1 problem):\n  - BREAKWATER_RETRY_JITTER="ful" is not accepted: expected one of none, full, equal, decorrelated (did you mean full?)\n',
    );
    expectNoStack(run);
  });

  it('exits 1 on an unknown variable, suggesting the close one', () => {
    const run = breakwater(['config'], { BREAKWATER_BREAKER_TRESHOLD: '5' });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include('BREAKWATER_BREAKER_TRESHOLD is not a breakwater variable (did you mean BREAKWATER_BREAKER_THRESHOLD?)');
    expectNoStack(run);
  });

  it('exits 1 on a file that does not exist, naming it', () => {
    const missing = join(dir, 'missing.yaml');
    const run = breakwater(['config'], { BREAKWATER_CONFIG: missing });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include(`BREAKWATER_CONFIG="${missing}": cannot read ${missing}: ENOENT`);
    expectNoStack(run);
  });

  it('exits 1 on a YAML syntax error, giving the line', () => {
    const path = file('syntax.yaml', 'defaults:\n  retry: { maxAttempts: 2\n  timeoutMs: 5\n');
    const run = breakwater(['config'], { BREAKWATER_CONFIG: path });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include(`${path}:3:`);
    expectNoStack(run);
  });

  it('exits 1 on an unknown key in the file, giving the file, line and path', () => {
    const path = file('key.yaml', 'targets:\n  - match: "a*"\n    policy: {}\n  - match: "b*"\n    policy:\n      retry: { maxAtempts: 2 }\n');
    const run = breakwater(['config'], { BREAKWATER_CONFIG: path });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include(`${path}:6: targets[1].policy.retry.maxAtempts: unknown key (did you mean maxAttempts?)`);
    expectNoStack(run);
  });

  it('lists every problem, from the file and the environment', () => {
    const path = file('many.json', '{"defaults": {"timeoutMs": -1}, "maxTargets": 0}');
    const run = breakwater(['config'], { BREAKWATER_CONFIG: path, BREAKWATER_BREAKER: 'sometimes' });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.match(/^breakwater: invalid configuration \(3 problems\):\n/);
    expect(run.stderr.split('\n').filter((l) => l.startsWith('  - '))).to.have.length(3);
  });

  it('never prints BREAKWATER_STATUS_TOKEN: not in the configuration, either format, nor in problems', () => {
    const token = 'planted-status-token-5f2c9e';
    const exposed = { BREAKWATER_STATUS_TOKEN: token, BREAKWATER_STATUS_PORT: '9465', BREAKWATER_STATUS_HOST: '0.0.0.0' };
    for (const format of ['json', 'yaml']) {
      const run = breakwater(['config', '--format', format], exposed);
      expect(run.status, run.stderr).to.equal(0);
      expect(run.stdout).to.include('0.0.0.0').and.include('BREAKWATER_STATUS_TOKEN'); // named as set, its value kept out
      expect(run.stdout + run.stderr, format).not.to.include(token);
    }
    const invalid = breakwater(['config'], { ...exposed, BREAKWATER_STATUS_ALLOWED_HOSTS: 'not a host!', BREAKWATER_STATUS_TOKN: token });
    expect(invalid.status).to.equal(1);
    expect(invalid.stderr).to.include('BREAKWATER_STATUS_ALLOWED_HOSTS="not a host!" is not accepted').and.include('BREAKWATER_STATUS_TOKN is not a breakwater variable');
    expect(invalid.stdout + invalid.stderr).not.to.include(token);
  });

  it('exits 1 on a status endpoint beyond loopback without a token, from the file or the environment', () => {
    const path = file('exposed.yaml', 'statusPort: 9465\nstatusHost: 0.0.0.0\n');
    const fromFile = breakwater(['config'], { BREAKWATER_CONFIG: path });
    expect(fromFile.status).to.equal(1);
    expect(fromFile.stderr).to.include(`${path}:2: statusHost: "0.0.0.0" is not accepted without BREAKWATER_STATUS_TOKEN`);
    const fromEnv = breakwater(['config'], { BREAKWATER_STATUS_PORT: '9465', BREAKWATER_STATUS_HOST: '10.0.0.5' });
    expect(fromEnv.status).to.equal(1);
    expect(fromEnv.stderr).to.include('BREAKWATER_STATUS_HOST="10.0.0.5" is not accepted without BREAKWATER_STATUS_TOKEN');
    // Loopback in any spelling needs no token; nor does a host when no endpoint is asked for.
    for (const host of ['localhost', '127.0.0.2', '::1']) expect(breakwater(['config'], { BREAKWATER_STATUS_PORT: '9465', BREAKWATER_STATUS_HOST: host }).status, host).to.equal(0);
    expect(breakwater(['config'], { BREAKWATER_STATUS_HOST: '0.0.0.0' }).status).to.equal(0);
  });

  it('prints usage: --help exits 0; an unknown command exits 2', () => {
    const help = breakwater(['--help']);
    expect(help.status).to.equal(0);
    expect(help.stdout).to.match(/^Usage: breakwater <command>/);
    const unknown = breakwater(['confg']);
    expect(unknown.status).to.equal(2);
    expect(unknown.stdout).to.equal('');
    expect(unknown.stderr).to.match(/^breakwater: unknown command: confg\n\nUsage: breakwater <command>/);
    expectNoStack(unknown);
  });
});

describe('cli: main (in process)', () => {
  async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await main(args, { env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  }

  it('prints usage on stdout and exits 0 for -h, --help, help, config --help', async () => {
    for (const args of [['-h'], ['help'], ['config', '--help']]) {
      const result = await run(args);
      expect(result.code, args.join(' ')).to.equal(0);
      expect(result.stdout).to.equal(USAGE);
    }
  });

  it('prints usage on stderr and exits 2 for no command, extra words, unknown options and formats', async () => {
    for (const args of [[], ['config', 'extra'], ['config', '--frmat', 'yaml'], ['config', '--format', 'toml'], ['config', '--format'], ['fleet', 'extra']]) {
      const result = await run(args);
      expect(result.code, args.join(' ')).to.equal(2);
      expect(result.stdout).to.equal('');
      expect(result.stderr).to.match(/^breakwater: .+\n\nUsage: breakwater <command>/);
    }
  });

  it('reads the environment it is given', async () => {
    const result = await run(['config', '--format=json'], { BREAKWATER_BREAKER: 'off' });
    expect(result.code).to.equal(0);
    expect(JSON.parse(result.stdout).defaults.breaker.mode).to.equal('off');
  });
});
