import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ALERT_NAMES, ALERT_PATTERNS, SCENARIOS, type Scenario } from '../patterns/scenarios.js';
import { exportedMetricNames, metricNames, templateQueries } from './promql-names.js';
import { promtoolTest, rulesForAlert, withoutAnnotations } from './promtool-unit-test.js';
import { ensurePromtool, run, type RunResult } from './promtool.js';
import { alertingRules, isAlert, readRules, recordingRules, RULES_PATH, RUNBOOK_PATH, type AlertingRule, type RuleGroup } from './rules-file.js';

const SEVERITIES = ['page', 'ticket'];
/** Series Prometheus itself writes for alerts; a rule may read them. */
const PROMETHEUS_SERIES = ['ALERTS', 'ALERTS_FOR_STATE'];

/** The anchor GitHub gives a Markdown heading. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('Prometheus pattern rules (collector/rules/breakwater.rules.yaml)', function () {
  const rules = readRules();
  const alerts = alertingRules(rules);
  const alertNamed = (name: string): AlertingRule => {
    const rule = alerts.find((a) => a.alert === name);
    if (rule === undefined) throw new Error(`no alert ${name}`);
    return rule;
  };
  let promtool: string;

  before(async function () {
    // Generous only for the first run on a fresh machine, which installs the package.
    this.timeout(15 * 60_000);
    promtool = await ensurePromtool();
  });

  it('pass `promtool check rules` (syntax, PromQL, templates)', async () => {
    const result = await run(promtool, ['check', 'rules', RULES_PATH]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.match(/SUCCESS: \d+ rules found/);
  });

  it('define each pattern alert exactly once, and no other alert', () => {
    expect(alerts.map((a) => a.alert).sort()).to.deep.equal([...ALERT_NAMES].sort());
  });

  describe('every alert is labelled, explained and linked to its runbook section', () => {
    let runbookAnchors: Set<string>;
    before(() => {
      const headings = readFileSync(RUNBOOK_PATH, 'utf8').matchAll(/^#{1,6} (.+)$/gm);
      runbookAnchors = new Set([...headings].map(([, heading]) => anchorOf(heading ?? '')));
    });
    for (const name of ALERT_NAMES) {
      it(name, () => {
        const rule = alertNamed(name);
        expect(SEVERITIES, 'severity').to.include(rule.labels?.['severity']);
        expect(rule.labels?.['pattern'], 'pattern').to.equal(ALERT_PATTERNS[name]);
        expect(rule.annotations?.['summary'], 'summary').to.match(/\S/);
        expect(rule.annotations?.['description'], 'description').to.match(/\{\{ *\$(labels|value)/);
        const anchor = anchorOf(name);
        expect(rule.annotations?.['runbook_url'], 'runbook_url').to.equal(`docs/runbook.md#${anchor}`);
        expect(runbookAnchors.has(anchor), `docs/runbook.md has a heading "${name}"`).to.equal(true);
      });
    }
  });

  it('use in their annotations only labels the alert carries', () => {
    for (const name of ALERT_NAMES) {
      const firing = SCENARIOS.filter((s) => s.alert === name && s.fires);
      const text = Object.values(alertNamed(name).annotations ?? {}).join('\n');
      for (const [, label] of text.matchAll(/\$labels\.(\w+)/g)) {
        for (const scenario of firing) {
          expect(scenario.expectLabels, `${name} uses $labels.${label}; "${scenario.name}" fires without it`).to.have.property(
            label ?? '',
          );
        }
      }
    }
  });

  it('read only metrics breakwater exports, the rules record, or Prometheus writes', () => {
    const known = new Set([...exportedMetricNames(), ...recordingRules(rules).map((r) => r.record), ...PROMETHEUS_SERIES]);
    const unknown: string[] = [];
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      const name = isAlert(rule) ? rule.alert : rule.record;
      const templates = isAlert(rule) ? Object.values(rule.annotations ?? {}).flatMap(templateQueries) : [];
      for (const expr of [rule.expr, ...templates]) {
        for (const metric of metricNames(expr)) if (!known.has(metric)) unknown.push(`${name}: ${metric}`);
      }
    }
    expect(unknown).to.deep.equal([]);
  });

  it('record hedges, their won share and the extra attempts per first attempt; a dependency that never hedged gets 0 hedges (promtool)', async () => {
    // Per second: 10 successes, 4 failures retried (4 backoffs), 2 hedges (1 won, 1
    // cancelled) and the 2 attempts they beat or lost to (cancelled); the cache never hedges.
    const dep = 'resilience_target="https://payments.example.com:443", resilience_client="fetch", resilience_policy="default"';
    const cache = 'resilience_target="redis://cache:6379/0", resilience_client="ioredis", resilience_policy="default"';
    const perSecond = (n: number) => `0+${n * 60}x10`;
    const input = [
      [`resilience_attempts_total{${dep}, resilience_outcome="success"}`, 10],
      [`resilience_attempts_total{${dep}, resilience_outcome="failure", resilience_error_category="network"}`, 4],
      [`resilience_attempts_total{${dep}, resilience_outcome="cancelled"}`, 2],
      [`resilience_retry_delay_seconds_count{${dep}}`, 4],
      [`resilience_hedges_total{${dep}, resilience_hedge_result="won"}`, 1],
      [`resilience_hedges_total{${dep}, resilience_hedge_result="cancelled"}`, 1],
      [`resilience_attempts_total{${cache}, resilience_outcome="success"}`, 10],
    ] as const;
    const payments = '{resilience_target="https://payments.example.com:443", resilience_client="fetch"}';
    const cacheLabels = '{resilience_target="redis://cache:6379/0", resilience_client="ioredis"}';
    const expect5m = (name: string, value: number, labels = payments) => ({ expr: `${name}${labels}`, eval_time: '10m', exp_samples: [{ labels: `${name}${labels}`, value }] });
    const test = {
      rule_files: [RULES_PATH],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: input.map(([series, n]) => ({ series, values: perSecond(n) })),
          promql_expr_test: [
            expect5m('breakwater:hedges:rate5m', 2),
            expect5m('breakwater:hedges:rate5m', 0, cacheLabels),
            expect5m('breakwater:first_attempts:rate5m', 10),
            expect5m('breakwater:extra_attempts_per_first_attempt:ratio_rate5m', 0.6),
            expect5m('breakwater:extra_attempts_per_first_attempt:ratio_rate5m', 0, cacheLabels),
            expect5m('breakwater:retries_per_first_attempt:ratio_rate5m', 0.4),
            expect5m('breakwater:hedges_won:ratio_rate5m', 0.5),
          ],
        },
      ],
    };
    const dir = await mkdtemp(join(tmpdir(), 'breakwater-hedge-rules-'));
    try {
      await writeFile(join(dir, 'hedges.test.yaml'), stringify(test, { lineWidth: 0 }));
      const result = await run(promtool, ['test', 'rules', join(dir, 'hedges.test.yaml')]);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('scenarios (test/patterns/scenarios.ts) under `promtool test rules`', function () {
    // Each scenario is its own promtool run, with only the rules its alert needs, run in
    // parallel: ~30 runs, the longest replaying ten hours of samples.
    this.timeout(120_000);
    const results = new Map<Scenario, RunResult>();
    let workDir: string;

    before(async function () {
      this.timeout(120_000);
      workDir = await mkdtemp(join(tmpdir(), 'breakwater-rules-'));
      const bare = withoutAnnotations(rules);
      for (const name of ALERT_NAMES) await writeFile(join(workDir, `${name}.rules.yaml`), stringify(rulesForAlert(bare, name)));
      const hasAlerts = (g: RuleGroup) => Number(g.rules.some(isAlert));
      const groupOrder = [...rules.groups].sort((a, b) => hasAlerts(a) - hasAlerts(b)).map((g) => g.name);
      const queue = SCENARIOS.map((scenario, index) => ({ scenario, file: join(workDir, `scenario-${index}.yaml`) }));
      const worker = async () => {
        for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
          const rulesFile = join(workDir, `${job.scenario.alert}.rules.yaml`);
          const severity = alertNamed(job.scenario.alert).labels?.['severity'] ?? '';
          await writeFile(job.file, stringify(promtoolTest(job.scenario, { rulesFile, severity, groupOrder }), { lineWidth: 0 }));
          results.set(job.scenario, await run(promtool, ['test', 'rules', job.file]));
        }
      };
      await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) }, worker));
    });

    after(async () => {
      if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
    });

    it('run each alert with every recording rule it reads', () => {
      const exported = exportedMetricNames();
      for (const name of ALERT_NAMES) {
        const subset = rulesForAlert(rules, name);
        const recorded = new Set(recordingRules(subset).map((r) => r.record));
        const read = subset.groups.flatMap((g) => g.rules).flatMap((r) => metricNames(r.expr));
        expect(read.filter((m) => !exported.has(m) && !recorded.has(m)), name).to.deep.equal([]);
        expect(alertingRules(subset).map((a) => a.alert), name).to.deep.equal([name]);
      }
    });

    it('cover every alert with a scenario that fires and a near miss that does not', () => {
      for (const name of ALERT_NAMES) {
        const own = SCENARIOS.filter((s) => s.alert === name);
        expect(own.some((s) => s.fires), `${name} has a firing scenario`).to.equal(true);
        expect(own.some((s) => !s.fires), `${name} has a near miss`).to.equal(true);
      }
    });

    it('are well-formed: pattern, expected labels, a silent range, series covering the evaluation', () => {
      for (const s of SCENARIOS) {
        expect(s.pattern, s.name).to.equal(ALERT_PATTERNS[s.alert]);
        if (s.fires) expect(s.expectLabels, s.name).to.be.an('object');
        else expect(s.silentFromMinute, s.name).to.be.a('number').and.at.most(s.evalAtMinute);
        for (const series of s.series) expect(series.values.length, `${s.name}: ${series.metric}`).to.be.greaterThan(s.evalAtMinute);
      }
    });

    for (const scenario of SCENARIOS) {
      it(`${scenario.fires ? 'fires' : 'stays silent'}: ${scenario.name}`, () => {
        const result = results.get(scenario);
        expect(result, 'promtool ran').to.not.equal(undefined);
        expect(result?.code, `${scenario.why}\n${result?.stdout}${result?.stderr}`).to.equal(0);
      });
    }
  });
});
