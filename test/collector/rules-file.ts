/** collector/rules/breakwater.rules.yaml, read and typed as Prometheus reads it. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export interface RulesFile {
  groups: RuleGroup[];
}

// Compiled to build/test/collector/, three levels below the repository root.
export const RULES_PATH = fileURLToPath(new URL('../../../collector/rules/breakwater.rules.yaml', import.meta.url));
export const RUNBOOK_PATH = fileURLToPath(new URL('../../../docs/runbook.md', import.meta.url));

export function readRules(): RulesFile {
  return parse(readFileSync(RULES_PATH, 'utf8')) as RulesFile;
}

export const isAlert = (rule: Rule): rule is AlertingRule => 'alert' in rule;

export const alertingRules = (file: RulesFile): AlertingRule[] => file.groups.flatMap((g) => g.rules.filter(isAlert));

export const recordingRules = (file: RulesFile): RecordingRule[] =>
  file.groups.flatMap((g) => g.rules.filter((r): r is RecordingRule => !isAlert(r)));
