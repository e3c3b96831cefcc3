import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import type { ClassificationRule } from '../../src/classify/rule-types.js';

/** The rules of a file holding only `classification.rules: <yaml>` (one rule per item). */
function rules(yamlRules: string): ClassificationRule[] {
  return loadConfig({ BREAKWATER_CONFIG: 'r.yaml' }, { readFile: () => `classification:\n  rules:\n${indent(yamlRules)}` }).rules;
}

function problems(yamlRules: string): string[] {
  try {
    rules(yamlRules);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  expect.fail('expected a ConfigError');
}

function indent(text: string): string {
  return text.split('\n').map((line) => `    ${line}`).join('\n') + '\n';
}

describe('config: classification rules', () => {
  it('keeps valid rules in file order, with every condition kind', () => {
    const result = rules(`
- id: declined
  when: { status: 402, target: "https://payments.*" }
  category: business_logic
  severity: low
  transient: false
  userMessage: Your payment was declined.
- id: lock
  when:
    any:
      - { sqlstate: ["40001", "40P01"], client: pg }
      - { redisPrefix: [BUSY, TRYAGAIN] }
    not: { message: "read-only" }
  category: concurrency
- id: flaky-gateway
  when:
    all:
      - { status: ["5xx", 429] }
      - { messageRegex: "gateway|upstream", messageRegexFlags: i }
      - { name: [FetchError, TypeError], code: [ECONNRESET, 1234] }
  category: external_service`);
    expect(result.map((r) => r.id)).to.deep.equal(['declined', 'lock', 'flaky-gateway']);
    expect(result[0]).to.deep.equal({
      id: 'declined',
      when: { status: 402, target: 'https://payments.*' },
      category: 'business_logic',
      severity: 'low',
      transient: false,
      userMessage: 'Your payment was declined.',
    });
    expect(result[1]!.when).to.deep.equal({
      any: [{ sqlstate: ['40001', '40P01'], client: 'pg' }, { redisPrefix: ['BUSY', 'TRYAGAIN'] }],
      not: { message: 'read-only' },
    });
    // Numeric codes become text; the classifier compares codes as strings.
    expect(result[2]!.when.all![2]).to.deep.equal({ name: ['FetchError', 'TypeError'], code: ['ECONNRESET', '1234'] });
  });

  it('normalises status: numeric text to numbers, classes to lower case', () => {
    expect(rules('- { id: a, when: { status: ["404", "5XX", 503] }, category: not_found }')[0]!.when.status).to.deep.equal([404, '5xx', 503]);
  });

  it('takes unquoted SQLSTATEs only when no digit can have been lost', () => {
    expect(rules('- { id: a, when: { sqlstate: [23505, 23] }, category: data_integrity }')[0]!.when.sqlstate).to.deep.equal(['23505', '23']);
    const [problem] = problems('- { id: a, when: { sqlstate: 08006 }, category: network }');
    expect(problem).to.equal(
      'r.yaml:3: classification.rules[0].when.sqlstate: 8006 is not accepted: expected a SQLSTATE of five characters (0-9, A-Z) such as "40001", or a two-character class such as "23" (quote SQLSTATEs: unquoted, YAML reads 08006 as the number 8006)',
    );
    expect(problems('- { id: a, when: { sqlstate: "4000" }, category: network }')[0]).to.include('"4000" is not accepted');
    expect(problems('- { id: a, when: { sqlstate: "40p01" }, category: network }')[0]).to.include('"40p01" is not accepted');
  });

  it('rejects a category or severity outside the known sets, with a suggestion', () => {
    expect(problems('- { id: a, when: { status: 500 }, category: busines_logic, severity: urgent }')).to.deep.equal([
      'r.yaml:3: classification.rules[0].category: "busines_logic" is not accepted: expected one of network, timeout, rate_limit, authentication, authorization, validation, not_found, concurrency, data_integrity, resource, external_service, configuration, business_logic, system, cancelled, circuit_open, unknown (did you mean business_logic?)',
      'r.yaml:3: classification.rules[0].severity: "urgent" is not accepted: expected one of critical, high, medium, low, info',
    ]);
  });

  it('rejects a regex that does not compile, and stateful or unknown flags', () => {
    const [bad] = problems('- { id: a, when: { messageRegex: "(unclosed" }, category: network }');
    expect(bad).to.match(/^r\.yaml:3: classification\.rules\[0\]\.when\.messageRegex: "\(unclosed" is not accepted: expected a regular expression the linear-time engine accepts \(RE2 syntax.*\(missing closing \)/);
    expect(problems('- { id: a, when: { messageRegex: "x", messageRegexFlags: g }, category: network }')[0]).to.include('"g" is not accepted: expected flags from d, i, m, s, u, each at most once');
    expect(problems('- { id: a, when: { messageRegex: "x", messageRegexFlags: v }, category: network }')[0]).to.include('"v" is not accepted');
    expect(problems('- { id: a, when: { messageRegex: "x", messageRegexFlags: q }, category: network }')[0]).to.include('"q" is not accepted');
    expect(problems('- { id: a, when: { messageRegex: "x", messageRegexFlags: ii }, category: network }')[0]).to.include('"ii" is not accepted');
    expect(problems('- { id: a, when: { message: "x", messageRegexFlags: i }, category: network }')[0]).to.include('messageRegexFlags: is not accepted without messageRegex');
    // A pattern valid only with the u flag compiles with it.
    expect(rules('- { id: a, when: { messageRegex: "\\\\p{L}", messageRegexFlags: u }, category: network }')).to.have.length(1);
  });

  it('refuses what needs a backtracking engine, at its line, and accepts a pattern V8 would backtrack on exponentially', () => {
    expect(problems('- { id: a, when: { messageRegex: "(a)\\\\1" }, category: network }')[0]).to.match(
      /^r\.yaml:3: classification\.rules\[0\]\.when\.messageRegex: .* is not accepted: .*backreferences need backtracking/,
    );
    expect(problems('- { id: a, when: { messageRegex: "quota(?!ok)" }, category: network }')[0]).to.match(/when\.messageRegex: .*lookahead and lookbehind are not supported/);
    // Runs in linear time on the linear engine, so there is nothing to refuse.
    expect(rules('- { id: a, when: { messageRegex: "^(\\\\w+\\\\s?)*quota$" }, category: rate_limit }')).to.have.length(1);
  });

  it('rejects bad statuses, clients and empty values', () => {
    expect(problems('- { id: a, when: { status: 99 }, category: network }')[0]).to.include('99 is not accepted: expected an HTTP status from 100 to 599, or a class such as "5xx"');
    expect(problems('- { id: a, when: { status: [500, "6xx"] }, category: network }')[0]).to.include('when.status[1]: "6xx" is not accepted');
    expect(problems('- { id: a, when: { client: mysql }, category: network }')[0]).to.include('expected one of http, fetch, pg, ioredis, redis, custom');
    expect(problems('- { id: a, when: { name: [] }, category: network }')[0]).to.include('when.name: an empty list is not accepted');
    expect(problems('- { id: a, when: { message: "" }, category: network }')[0]).to.include('"" is not accepted: expected a non-empty string');
    expect(problems('- { id: a, when: { redisPrefix: "ERR syntax" }, category: network }')[0]).to.include('no spaces');
  });

  it('rejects an empty condition (it would shadow every built-in rule) and empty all/any', () => {
    expect(problems('- { id: a, when: {}, category: network }')[0]).to.include('when: an empty condition is not accepted');
    expect(problems('- { id: a, when: { any: [] }, category: network }')[0]).to.include('when.any: a list [] is not accepted: expected a non-empty list of conditions');
    expect(problems('- { id: a, when: { not: { all: [{}] } }, category: network }')[0]).to.include('when.not.all[0]: an empty condition');
  });

  it('names unknown keys in rules and conditions, with suggestions', () => {
    expect(problems('- { id: a, when: { stauts: 500 }, category: network, transent: true }')).to.deep.equal([
      'r.yaml:3: classification.rules[0].transent: unknown key (did you mean transient?)',
      'r.yaml:3: classification.rules[0].when.stauts: unknown key (did you mean status?)',
    ]);
  });

  it('requires id, when and category; ids unique and not builtin:', () => {
    expect(problems('- { when: { status: 500 } }')).to.deep.equal([
      'r.yaml:3: classification.rules[0]: missing required key id',
      'r.yaml:3: classification.rules[0]: missing required key category',
    ]);
    expect(problems('- { id: a, when: { status: 500 }, category: network }\n- { id: a, when: { status: 501 }, category: network }')).to.deep.equal([
      'r.yaml:4: classification.rules[1].id: "a" is not accepted: the id is already used by classification.rules[0]; ids must be unique',
    ]);
    expect(problems('- { id: "builtin:http", when: { status: 500 }, category: network }')[0]).to.include('reserved for the built-in rules');
  });

  it('rejects rules that are not a list, and classification keys it does not know', () => {
    const load = (text: string) => () => loadConfig({ BREAKWATER_CONFIG: 'r.yaml' }, { readFile: () => text });
    expect(load('classification:\n  rules: { id: a }\n')).to.throw(ConfigError, 'classification.rules: a mapping {"id":"a"} is not accepted: expected a list of rules');
    expect(load('classification:\n  rule: []\n')).to.throw(ConfigError, 'classification.rule: unknown key (did you mean rules?)');
  });

  it('shares nothing with the parsed file: an alias used twice gives two rules with separate conditions', () => {
    const result = rules('- { id: a, when: &w { status: 500 }, category: network }\n- { id: b, when: *w, category: network }');
    expect(result[0]!.when).to.deep.equal(result[1]!.when);
    expect(result[0]!.when).not.to.equal(result[1]!.when);
  });
});
