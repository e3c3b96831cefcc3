import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import type { EffectiveConfig } from '../../src/config/index.js';

function loadFile(name: string, text: string, env: Record<string, string> = {}): EffectiveConfig {
  return loadConfig({ BREAKWATER_CONFIG: name, ...env }, { readFile: (path) => (path === name ? text : fail(path)) });
}

function fail(path: string): never {
  throw new Error(`unexpected read of ${path}`);
}

function problemsOf(name: string, text: string, env: Record<string, string> = {}): string[] {
  try {
    loadFile(name, text, env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  expect.fail('expected a ConfigError');
}

const EXAMPLE_YAML = `# The example of docs/configuration.md
defaults:
  timeoutMs: 5000
  retry: { maxAttempts: 4, jitter: decorrelated }
  breaker: { mode: rate, failureRate: 0.4 }
  bulkhead: { maxConcurrent: 50, maxQueue: 100 }
targets:
  - match: "https://api.example.com:*"
    policy:
      name: payments
      retry: { maxAttempts: 2 }
      breaker: { mode: consecutive, threshold: 3 }
  - match: "postgresql://*"
    policy: { timeoutMs: 2000, bulkhead: false }
classification:
  rules:
    - id: payments-declined
      when: { status: 402, target: "https://payments.*" }
      category: business_logic
instrumentations: [http, fetch, pg]
maxTargets: 500
`;

describe('config: file', () => {
  it('reads a YAML file: defaults, targets, rules, top-level settings', () => {
    const config = loadFile('/etc/bw.yaml', EXAMPLE_YAML);
    expect(config.sources).to.deep.equal({ file: '/etc/bw.yaml', env: ['BREAKWATER_CONFIG'] });
    expect(config.instrumentations).to.deep.equal(['http', 'fetch', 'pg']);
    expect(config.maxTargets).to.equal(500);
    expect(config.defaults.timeoutMs).to.equal(5000);
    expect(config.defaults.retry).to.include({ maxAttempts: 4, jitter: 'decorrelated', baseDelayMs: 100 });
    expect(config.defaults.breaker).to.include({ mode: 'rate', failureRate: 0.4, minCalls: 20 });
    expect(config.defaults.bulkhead).to.deep.equal({ maxConcurrent: 50, maxQueue: 100 });
    expect(config.targets.map((t) => t.match)).to.deep.equal(['https://api.example.com:*', 'postgresql://*']);
    const [payments, pg] = config.targets.map((t) => t.policy);
    expect(payments!.name).to.equal('payments');
    expect(payments!.retry).to.include({ maxAttempts: 2, jitter: 'decorrelated' });
    expect(payments!.breaker).to.include({ mode: 'consecutive', threshold: 3, failureRate: 0.4 });
    expect(payments!.timeoutMs).to.equal(5000);
    expect(pg!.name).to.equal('postgresql://*'); // unnamed: named by its pattern, not "default"
    expect(pg!.bulkhead).to.equal(false);
    expect(pg!.timeoutMs).to.equal(2000);
    expect(config.rules).to.deep.equal([
      { id: 'payments-declined', when: { status: 402, target: 'https://payments.*' }, category: 'business_logic' },
    ]);
  });

  it('reads the same configuration from JSON', () => {
    const json = JSON.stringify({
      defaults: { timeoutMs: 5000, retry: { maxAttempts: 4, jitter: 'decorrelated' }, breaker: { mode: 'rate', failureRate: 0.4 }, bulkhead: { maxConcurrent: 50, maxQueue: 100 } },
      targets: [
        { match: 'https://api.example.com:*', policy: { name: 'payments', retry: { maxAttempts: 2 }, breaker: { mode: 'consecutive', threshold: 3 } } },
        { match: 'postgresql://*', policy: { timeoutMs: 2000, bulkhead: false } },
      ],
      classification: { rules: [{ id: 'payments-declined', when: { status: 402, target: 'https://payments.*' }, category: 'business_logic' }] },
      instrumentations: ['http', 'fetch', 'pg'],
      maxTargets: 500,
    }, null, 2);
    const { origins: jsonOrigins, ...fromJson } = loadFile('/etc/bw.json', json);
    const { origins: yamlOrigins, ...fromYaml } = loadFile('/etc/bw.json', EXAMPLE_YAML);
    expect(fromJson).to.deep.equal(fromYaml);
    // The same keys, each from the file, on the lines where each format writes it.
    expect(Object.keys(jsonOrigins.targets[0]!)).to.deep.equal(Object.keys(yamlOrigins.targets[0]!));
    expect(jsonOrigins.targets[0]!['retry.maxAttempts']).to.match(/^\/etc\/bw\.json:\d+: targets\[0\]\.policy\.retry\.maxAttempts$/);
  });

  it('reads a real file from disk, relative to the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-config-'));
    try {
      writeFileSync(join(dir, 'bw.yml'), 'defaults: { retry: { maxAttempts: 7 } }\n');
      const config = loadConfig({ BREAKWATER_CONFIG: join(dir, 'bw.yml') });
      expect(config.defaults.retry.maxAttempts).to.equal(7);
      expect(config.sources.file).to.equal(join(dir, 'bw.yml'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the file when it cannot be read', () => {
    const problems = (() => {
      try {
        loadConfig({ BREAKWATER_CONFIG: '/no/such/bw.yaml' });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    })();
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^BREAKWATER_CONFIG="\/no\/such\/bw.yaml": cannot read \/no\/such\/bw.yaml: ENOENT/);
  });

  it('reports YAML syntax errors with the line and column', () => {
    const problems = problemsOf('bw.yaml', 'defaults:\n  retry: { maxAttempts: 2\n  timeoutMs: 5\n');
    expect(problems).to.have.length(1);
    expect(problems[0]).to.equal('bw.yaml:3:3: invalid YAML: an unclosed { (or one not indented past its key): expected } to end the flow mapping');
  });

  it('reports JSON syntax errors and duplicate keys with the line', () => {
    expect(problemsOf('bw.json', '{\n  "maxTargets": 10,\n  "maxTargets": 20\n}')).to.deep.equal(['bw.json:3:3: "maxTargets": a key given twice in one mapping']);
    expect(problemsOf('bw.json', '{\n  "maxTargets": 10\n  "enabled": true\n}')[0]).to.match(/^bw\.json:[23]:\d+: invalid YAML: .*missing comma/);
    // Keys that only look alike in YAML (1 and "1") are one key once read as text.
    expect(problemsOf('bw.yaml', 'x-a:\n  1: a\n  "1": b\n')).to.deep.equal(['bw.yaml:3:3: "1": a key given twice in one mapping']);
    // Merge keys may repeat.
    expect(loadFile('bw.yaml', 'x-a: &a { maxAttempts: 2 }\nx-b: &b { jitter: none }\ndefaults:\n  retry:\n    <<: *a\n    <<: *b\n').defaults.retry).to.include({ maxAttempts: 2, jitter: 'none' });
  });

  it('treats unknown tags and several documents as problems, not silently', () => {
    expect(problemsOf('bw.yaml', 'defaults:\n  name: !!js/function "f"\n')).to.deep.equal(['bw.yaml:2:9: invalid YAML: an unknown tag (such as !!js/function): expected plain YAML without tags']);
    expect(problemsOf('bw.yaml', 'maxTargets: 1\n---\nmaxTargets: 2\n')).to.deep.equal(['bw.yaml:2:1: invalid YAML: more than one document (---): expected a single document']);
  });

  it('names the file, the line and the path of an unknown key, with a suggestion', () => {
    const text = 'targets:\n  - match: "a*"\n    policy: {}\n  - match: "b*"\n    policy:\n      retry:\n        maxAtempts: 2\n';
    expect(problemsOf('/etc/bw.yaml', text)).to.deep.equal([
      '/etc/bw.yaml:7: targets[1].policy.retry.maxAtempts: unknown key (did you mean maxAttempts?)',
    ]);
  });

  it('suggests for snake_case and wrong case, lists the keys when nothing is close', () => {
    expect(problemsOf('f.yaml', 'defaults:\n  timeout_ms: 5\n')).to.deep.equal(['f.yaml:2: defaults.timeout_ms: unknown key (did you mean timeoutMs?)']);
    expect(problemsOf('f.yaml', 'defaults:\n  Retry: {}\n')).to.deep.equal(['f.yaml:2: defaults.Retry: unknown key (did you mean retry?)']);
    expect(problemsOf('f.yaml', 'defaults:\n  retry: { zzz: 1 }\n')).to.deep.equal([
      'f.yaml:2: defaults.retry.zzz: unknown key (expected one of maxAttempts, baseDelayMs, maxDelayMs, multiplier, jitter, budgetRatio, budgetMinPerSecond, budgetWindowMs)',
    ]);
    expect(problemsOf('f.yaml', 'default:\n  timeoutMs: 5\n')).to.deep.equal(['f.yaml:1: default: unknown key (did you mean defaults?)']);
  });

  it('names the file, path, value and what is accepted for a bad value', () => {
    const text = [
      'defaults:',
      '  timeoutMs: -5',
      '  retry:',
      '    maxAttempts: "3"',
      '    jitter: ful',
      '    budgetRatio: 1.5',
      '  breaker: { mode: on, failureRate: 0 }',
      '  bulkhead: 10',
      'maxTargets: 2.5',
      'enabled: "yes"',
      'instrumentations: [http, mysql]',
    ].join('\n');
    expect(problemsOf('/etc/bw.yaml', text)).to.deep.equal([
      '/etc/bw.yaml:2: defaults.timeoutMs: -5 is not accepted: expected an integer from 0 to 2147483647 (0 = no timeout)',
      '/etc/bw.yaml:4: defaults.retry.maxAttempts: "3" is not accepted: expected an integer >= 1',
      '/etc/bw.yaml:5: defaults.retry.jitter: "ful" is not accepted: expected one of none, full, equal, decorrelated (did you mean full?)',
      '/etc/bw.yaml:6: defaults.retry.budgetRatio: 1.5 is not accepted: expected a number from 0 to 1',
      '/etc/bw.yaml:7: defaults.breaker.mode: "on" is not accepted: expected one of consecutive, rate, off',
      '/etc/bw.yaml:7: defaults.breaker.failureRate: 0 is not accepted: expected a number > 0 and <= 1',
      '/etc/bw.yaml:8: defaults.bulkhead: 10 is not accepted: expected a mapping with any of maxConcurrent, maxQueue, or false',
      '/etc/bw.yaml:9: maxTargets: 2.5 is not accepted: expected an integer >= 1',
      '/etc/bw.yaml:10: enabled: "yes" is not accepted: expected true or false',
      '/etc/bw.yaml:11: instrumentations: a list ["http","mysql"] is not accepted: expected a list of http, fetch, pg, ioredis, redis, or "all", or "none"',
    ]);
  });

  it('takes instrumentations as a list, "all", "none" or an empty list', () => {
    expect(loadFile('f.yaml', 'instrumentations: [redis, http]\n').instrumentations).to.deep.equal(['http', 'redis']);
    expect(loadFile('f.yaml', 'instrumentations: all\n').instrumentations).to.have.length(5);
    expect(loadFile('f.yaml', 'instrumentations: none\n').instrumentations).to.deep.equal([]);
    expect(loadFile('f.yaml', 'instrumentations: []\n').instrumentations).to.deep.equal([]);
    expect(loadFile('f.yaml', 'instrumentations: [pg]\n', { BREAKWATER_INSTRUMENTATIONS: 'all' }).instrumentations).to.have.length(5);
    expect(problemsOf('f.yaml', 'instrumentations: [htp]\n')[0]).to.include('(did you mean http?)');
  });

  it('accepts false for a whole section: no retries, no breaker, no bulkhead', () => {
    const config = loadFile('f.yaml', 'defaults:\n  retry: false\n  breaker: false\n  bulkhead: false\n');
    expect(config.defaults.retry.maxAttempts).to.equal(1);
    expect(config.defaults.retry.baseDelayMs).to.equal(100);
    expect(config.defaults.breaker.mode).to.equal('off');
    expect(config.defaults.bulkhead).to.equal(false);
    expect(problemsOf('f.yaml', 'defaults:\n  retry: true\n')[0]).to.include('expected a mapping with any of maxAttempts');
  });

  it('validates targets: a list of { match, policy }, patterns unique', () => {
    expect(problemsOf('f.yaml', 'targets: { match: "a" }\n')).to.deep.equal([
      'f.yaml:1: targets: a mapping {"match":"a"} is not accepted: expected a list of { match, policy }',
    ]);
    expect(problemsOf('f.yaml', 'targets:\n  - policy: {}\n  - match: ""\n    policy: {}\n  - match: "x"\n')).to.deep.equal([
      'f.yaml:2: targets[0]: missing required key match (a glob on the target key)',
      'f.yaml:3: targets[1].match: "" is not accepted: expected a glob on the target key, such as "https://api.example.com:*"',
      'f.yaml:5: targets[2]: missing required key policy',
    ]);
    expect(problemsOf('f.yaml', 'targets:\n  - match: "a*"\n    policy: {}\n  - match: "a*"\n    policy: {}\n')).to.deep.equal([
      'f.yaml:4: targets[1].match: "a*" is not accepted: targets[0] has the same pattern, so this entry would never apply',
    ]);
    expect(problemsOf('f.yaml', 'targets:\n  - match: "a*"\n    policy: {}\n    polcy: {}\n')).to.deep.equal([
      'f.yaml:4: targets[0].polcy: unknown key (did you mean policy?)',
    ]);
  });

  it('reports the top level must be a mapping; an empty file sets nothing', () => {
    expect(problemsOf('f.yaml', '- a\n- b\n')[0]).to.equal(
      'f.yaml:1: (top level): a list is not accepted: expected a mapping with any of enabled, instrumentations, maxTargets, maxTargetStates, targetIdleMs, shutdownTimeoutMs, statusPort, statusHost, statusAllowedHosts, callSpans, redisDurationMetric, patterns, patternsTimeScale, fleet, defaults, targets, classification (the file is read as YAML or JSON)',
    );
    expect(problemsOf('f.yaml', '42\n')[0]).to.include('(top level): a number is not accepted');
    expect(loadFile('f.yaml', '').defaults.retry.maxAttempts).to.equal(3);
    expect(loadFile('f.yaml', '# nothing yet\n').targets).to.deep.equal([]);
  });

  it('follows anchors, aliases and merge keys; x- keys hold anchors', () => {
    const text = [
      'x-careful: &careful { maxAttempts: 2, jitter: none }',
      'targets:',
      '  - match: "a*"',
      '    policy: { retry: *careful }',
      '  - match: "b*"',
      '    policy:',
      '      retry: { <<: *careful, maxAttempts: 5 }',
    ].join('\n');
    const config = loadFile('f.yaml', text);
    expect(config.targets[0]!.policy.retry).to.include({ maxAttempts: 2, jitter: 'none' });
    expect(config.targets[1]!.policy.retry).to.include({ maxAttempts: 5, jitter: 'none' });
  });

  it('refuses a self-referencing alias and an alias bomb without crashing', () => {
    expect(problemsOf('f.yaml', 'x-a: &a [1, *a]\n')[0]).to.include('refers to itself');
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');
    expect(problemsOf('f.yaml', bomb)[0]).to.match(/^f\.yaml: .*alias/i);
  });

  it('bounds a mapping to 1000 keys, and reads a file of exactly 1 MiB but not one byte more', () => {
    const keys = (n: number) => `x-many:\n${Array.from({ length: n }, (_, i) => `  k${i}: 1`).join('\n')}\n`;
    expect(loadFile('f.yaml', keys(1000)).maxTargets).to.equal(1000);
    expect(problemsOf('f.yaml', keys(1001))).to.deep.equal(['f.yaml:2:3: a mapping with 1001 keys is not accepted: expected at most 1000']);
    const dir = mkdtempSync(join(tmpdir(), 'bw-config-'));
    try {
      const comment = (bytes: number) => `maxTargets: 7\n#${'c'.repeat(bytes - 'maxTargets: 7\n#\n'.length)}\n`;
      writeFileSync(join(dir, 'max.yaml'), comment(1024 * 1024));
      expect(loadConfig({ BREAKWATER_CONFIG: join(dir, 'max.yaml') }).maxTargets).to.equal(7);
      writeFileSync(join(dir, 'over.yaml'), comment(1024 * 1024 + 1));
      expect(() => loadConfig({ BREAKWATER_CONFIG: join(dir, 'over.yaml') })).to.throw(ConfigError, /over\.yaml is too large \(1048577 bytes\): at most 1048576 bytes \(1 MiB\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The same bound holds for text from a reader given as an option.
    expect(problemsOf('f.yaml', `#${'c'.repeat(1024 * 1024)}`)[0]).to.match(/^BREAKWATER_CONFIG="f\.yaml": .*f\.yaml is too large/);
  });

  it('states a syntax error by line, column and what was expected, never by quoting the file', () => {
    const secret = 'hunter2';
    const files = [`a: !secret ${secret}\n`, `a: *${secret}\n`, `a: "${secret}\n`, `a: [${secret}\n`, `${secret}: [\n  - x\n`, `{ "${secret}": 1\n  "b": 2 }`];
    for (const text of files) {
      const problems = problemsOf('f.yaml', text);
      expect(problems, text).to.not.be.empty;
      for (const problem of problems) {
        expect(problem, text).to.match(/^f\.yaml:\d+:\d+: invalid YAML: /);
        expect(problem, text).not.to.include(secret);
      }
    }
  });

  it('takes a __proto__ key as an unknown key, never as a prototype', () => {
    expect(problemsOf('f.yaml', 'defaults:\n  __proto__: { timeoutMs: 1 }\n')).to.deep.equal([
      'f.yaml:2: defaults.__proto__: unknown key (expected one of name, telemetry, timeoutMs, deadlineMs, fleet, retry, breaker, bulkhead, concurrencyLimit, rateLimit, hedge)',
    ]);
    expect(({} as Record<string, unknown>)['timeoutMs']).to.equal(undefined);
  });

  it('rejects collection keys and reads scalar keys as text', () => {
    const problems = problemsOf('f.yaml', '? [a]\n: 1\n1: x\n');
    expect(problems[0]).to.equal('f.yaml:1: (top level): a list ["a"] is not accepted as a key: expected text');
    expect(problems[1]).to.include('["1"]: unknown key');
  });

  it('checks delays across the file and the environment, naming both', () => {
    expect(problemsOf('f.yaml', 'defaults:\n  retry: { baseDelayMs: 500, maxDelayMs: 200 }\n')).to.deep.equal([
      'f.yaml:2: defaults.retry.maxDelayMs: 200 is not accepted: must be at least retry.baseDelayMs, which is 500 (f.yaml:2: defaults.retry.baseDelayMs)',
    ]);
    expect(problemsOf('f.yaml', 'defaults:\n  retry: { maxDelayMs: 50 }\n', { BREAKWATER_RETRY_BASE_DELAY_MS: '80' })).to.deep.equal([
      'BREAKWATER_RETRY_BASE_DELAY_MS="80" is not accepted: must be at most retry.maxDelayMs, which is 50 (f.yaml:2: defaults.retry.maxDelayMs)',
    ]);
    const perTarget = 'targets:\n  - match: "a*"\n    policy: { retry: { baseDelayMs: 900 } }\n';
    expect(problemsOf('f.yaml', perTarget, { BREAKWATER_RETRY_MAX_DELAY_MS: '400' })).to.deep.equal([
      // The target's own value wins over the variable, so it is the one that must fit.
      'f.yaml:3: targets[0].policy.retry.baseDelayMs: 900 is not accepted: must be at most retry.maxDelayMs, which is 400 (BREAKWATER_RETRY_MAX_DELAY_MS)',
    ]);
  });

  it('reports a conflict once, not once per target that inherits it', () => {
    const text = 'defaults:\n  breaker: { openMs: 9000, maxOpenMs: 1000 }\ntargets:\n  - match: "a*"\n    policy: {}\n  - match: "b*"\n    policy: {}\n';
    expect(problemsOf('f.yaml', text)).to.have.length(1);
  });

  it('reports problems from the environment and the file together', () => {
    const problems = problemsOf('f.yaml', 'defaults:\n  retry: { maxAtempts: 2 }\n', { BREAKWATER_BREAKER: 'sometimes', BREAKWATER_TYPO: '1' });
    expect(problems).to.have.length(3);
  });
});
