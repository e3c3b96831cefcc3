/**
 * The Grafana dashboard (collector/dashboards/breakwater.json) as the tests read it:
 * every PromQL expression it holds (panel targets, annotations, the selectors of its
 * template variables), and those expressions made concrete the way Grafana would send
 * them, with the variables replaced.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_PATH = fileURLToPath(new URL('../../../collector/dashboards/breakwater.json', import.meta.url));

export interface DataSourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  datasource?: DataSourceRef;
  exemplar?: boolean;
}

export interface Panel {
  id?: number;
  type: string;
  title: string;
  datasource?: DataSourceRef;
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { links?: { title?: string; url?: string }[] } };
}

export interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: DataSourceRef;
  allValue?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  annotations?: { list: { name: string; expr?: string; datasource?: DataSourceRef }[] };
  links?: { url?: string }[];
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
}

/** Every panel, rows' children included, rows themselves excluded. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

export interface Query {
  /** Where it comes from: `panel "<title>" A`, `annotation "<name>"`, `variable $name`. */
  where: string;
  expr: string;
}

/** The query text of a variable (Grafana stores it as a string or as an object). */
export function variableQuery(v: Variable): string | undefined {
  return typeof v.query === 'string' ? v.query : v.query?.query;
}

/** `label_values(<selector>, label)` -> the selector; `label_values(label)` has none. */
export function labelValuesSelector(query: string): string | undefined {
  const match = /^\s*label_values\(\s*(.+),\s*[a-zA-Z_]\w*\s*\)\s*$/s.exec(query);
  return match?.[1];
}

export function dashboardQueries(dashboard: Dashboard): Query[] {
  const queries: Query[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (target.expr !== undefined) queries.push({ where: `panel "${panel.title}" ${target.refId ?? ''}`.trim(), expr: target.expr });
    }
  }
  for (const annotation of dashboard.annotations?.list ?? []) {
    if (annotation.expr !== undefined) queries.push({ where: `annotation "${annotation.name}"`, expr: annotation.expr });
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const selector = labelValuesSelector(variableQuery(variable) ?? '');
    if (selector !== undefined) queries.push({ where: `variable $${variable.name}`, expr: selector });
  }
  return queries;
}

/** Grafana's built-in interval variables, as a test sends them. */
const INTERVALS = ['__rate_interval', '__interval', '__range'];

/** Names of the variables an expression uses (`$name`, `${name}`, `${name:format}`, `[[name]]`). */
export function variablesUsed(text: string): string[] {
  const names = [...text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  return [...new Set(names)];
}

/**
 * The expression as Grafana would send it with every variable on "All" (their allValue,
 * `.*`) and the interval variables at `interval`.
 */
export function concreteExpr(expr: string, dashboard: Dashboard, interval = '1m'): string {
  const allValues = new Map(dashboard.templating.list.map((v) => [v.name, v.allValue ?? '.*']));
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    if (INTERVALS.includes(name)) return interval;
    return allValues.get(name) ?? whole;
  });
}

/** Span metrics come from the Collector's spanmetrics connector, not from breakwater itself. */
export const COLLECTOR_SPAN_METRICS = new Set([
  'traces_span_metrics_calls_total',
  'traces_span_metrics_duration_seconds_bucket',
  'traces_span_metrics_duration_seconds_sum',
  'traces_span_metrics_duration_seconds_count',
]);
