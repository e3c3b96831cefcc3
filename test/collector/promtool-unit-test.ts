/** A pattern scenario (test/patterns/scenarios.ts) as a promtool rule unit test file. */
import type { Scenario } from '../patterns/scenarios.js';
import { metricNames } from './promql-names.js';
import { isAlert, type RuleGroup, type RulesFile } from './rules-file.js';

export interface PromtoolTestOptions {
  rulesFile: string;
  /** The alert's severity label, as its rule sets it. */
  severity: string;
  /** Rule group names, recording groups first, so an alert sees this minute's recorded values. */
  groupOrder: string[];
}

const minutes = (m: number) => `${m}m`;

/** `metric{name="value",...}`: a series as promtool's input and expected samples name it. */
export function selector(metric: string, labels: Readonly<Record<string, string>>): string {
  const matchers = Object.entries(labels).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  return `${metric}{${matchers.join(',')}}`;
}

export function promtoolTest(scenario: Scenario, options: PromtoolTestOptions): object {
  const from = scenario.fires ? scenario.evalAtMinute : (scenario.silentFromMinute ?? scenario.evalAtMinute);
  const evalTimes = Array.from({ length: scenario.evalAtMinute - from + 1 }, (_, i) => from + i);
  const expAlerts = scenario.fires
    ? [{ exp_labels: { ...scenario.expectLabels, severity: options.severity, pattern: scenario.pattern } }]
    : [];
  return {
    rule_files: [options.rulesFile],
    evaluation_interval: '1m',
    group_eval_order: options.groupOrder,
    tests: [
      {
        name: scenario.name,
        interval: '1m',
        input_series: scenario.series.map((s) => ({ series: selector(s.metric, s.labels), values: s.values.join(' ') })),
        alert_rule_test: evalTimes.map((m) => ({ eval_time: minutes(m), alertname: scenario.alert, exp_alerts: expAlerts })),
      },
    ],
  };
}

/**
 * Rule group names, recording groups first. promtool evaluates groups in no fixed order
 * unless told: an alert evaluated before the recording rules it reads would see them a
 * minute late, now and then.
 */
export function recordingGroupsFirst(rules: RulesFile): string[] {
  const hasAlerts = (g: RuleGroup) => Number(g.rules.some(isAlert));
  return [...rules.groups].sort((a, b) => hasAlerts(a) - hasAlerts(b)).map((g) => g.name);
}

/**
 * The rules without annotations. promtool compares an alert's rendered annotations
 * exactly, and those hold formatted values no scenario should have to predict; they take
 * no part in whether an alert fires or with which labels. `promtool check rules` still
 * checks the annotations' templates in the real file.
 */
export function withoutAnnotations(rules: RulesFile): RulesFile {
  return {
    groups: rules.groups.map((group) => ({
      ...group,
      rules: group.rules.map((rule) => {
        if (!('alert' in rule)) return rule;
        const { annotations: _annotations, ...rest } = rule;
        return rest;
      }),
    })),
  };
}

/**
 * One alert and the recording rules it reads, directly or through other recording rules,
 * in their original groups and order. promtool evaluates every loaded rule at every step,
 * so a scenario that loads only these runs several times faster.
 */
export function rulesForAlert(rules: RulesFile, alert: string): RulesFile {
  const recordedBy = new Map(rules.groups.flatMap((g) => g.rules).flatMap((r) => (isAlert(r) ? [] : [[r.record, r] as const])));
  const needed = new Set<string>();
  const visit = (expr: string) => {
    for (const name of metricNames(expr)) {
      const rule = recordedBy.get(name);
      if (rule !== undefined && !needed.has(name)) {
        needed.add(name);
        visit(rule.expr);
      }
    }
  };
  const target = rules.groups.flatMap((g) => g.rules).find((r) => isAlert(r) && r.alert === alert);
  if (target === undefined) throw new Error(`no alert ${alert}`);
  visit(target.expr);
  return {
    groups: rules.groups.map((group) => ({
      ...group,
      rules: group.rules.filter((r) => (isAlert(r) ? r.alert === alert : needed.has(r.record))),
    })),
  };
}
