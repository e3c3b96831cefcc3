/**
 * Metric names read out of PromQL, to prove that rules and dashboards only use names the
 * package exports (docs/telemetry.md). Not a parser: it removes everything that is not
 * a metric name (strings, label matchers, label lists, ranges, offsets, numbers,
 * keywords, function calls) and keeps the identifiers left over.
 */
import { METRICS } from '../../src/telemetry/names.js';

/** Aggregation operators, binary-operator keywords and literals: identifiers that are never metric names. */
const KEYWORDS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk',
  'quantile', 'limitk', 'limit_ratio',
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool',
  'atan2', 'inf', 'nan',
]);

/** The Prometheus names breakwater exports: counters and gauges as is, histograms as their three series. */
export function exportedMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const metric of METRICS) {
    if (metric.kind === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.prometheus + suffix);
    } else {
      names.add(metric.prometheus);
    }
  }
  return names;
}

/**
 * Every metric name an expression selects, in order of first appearance. A selector by
 * `{__name__="x"}` yields x; one by a regex on __name__ cannot be checked and yields the
 * matcher itself (`__name__=~"..."`), which no list of names contains.
 */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  let text = expr.replace(/#[^\n]*/g, ' ');

  // Strings first: a quoted `}` or `(` must not confuse what follows.
  const strings: string[] = [];
  text = text.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, (literal) => {
    strings.push(literal);
    return ` \u0000${strings.length - 1}\u0000 `;
  });
  const stringAt = (placeholder: string) => strings[Number(placeholder)] ?? '';

  text = text.replace(/\{([^}]*)\}/g, (_, matchers: string) => {
    const byName = /__name__\s*(=~|!~|!=|=)\s*\u0000(\d+)\u0000/.exec(matchers);
    if (byName) {
      const [, op, index] = byName;
      const literal = stringAt(index ?? '');
      names.push(op === '=' ? literal.slice(1, -1) : `__name__${op}${literal}`);
    }
    return ' ';
  });
  text = text
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' $1 ')
    .replace(/\boffset\s+-?[0-9a-z.]+/gi, ' ')
    .replace(/@\s*(?:start\s*\(\s*\)|end\s*\(\s*\)|[0-9.]+)/g, ' ')
    .replace(/\u0000\d+\u0000/g, ' ');

  for (const match of text.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const word = match[0];
    const rest = text.slice((match.index ?? 0) + word.length);
    if (KEYWORDS.has(word.toLowerCase())) continue;
    if (/^\s*\(/.test(rest)) continue; // a function call
    names.push(word);
  }
  return [...new Set(names)];
}

/**
 * The PromQL inside a Go template (an alert annotation or label): each action that calls
 * `query`, with its first string literal as the expression and printf verbs replaced by a
 * placeholder value.
 */
export function templateQueries(template: string): string[] {
  const queries: string[] = [];
  for (const [, action] of template.matchAll(/\{\{(.*?)\}\}/gs)) {
    if (action === undefined || !/\bquery\b/.test(action)) continue;
    const literal = /"((?:[^"\\]|\\.)*)"/.exec(action)?.[1];
    if (literal === undefined) continue;
    queries.push(literal.replace(/\\"/g, '"').replace(/%%/g, '%').replace(/%[-+# 0]*\d*(?:\.\d+)?[a-z]/g, 'x'));
  }
  return queries;
}
