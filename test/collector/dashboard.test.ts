import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  allPanels,
  COLLECTOR_SPAN_METRICS,
  concreteExpr,
  dashboardQueries,
  labelValuesSelector,
  readDashboard,
  variablesUsed,
  type Panel,
} from './dashboard.js';
import { exportedMetricNames, metricNames } from './promql-names.js';
import { ensurePromtool, run } from './promtool.js';
import { recordingRules, readRules } from './rules-file.js';
import { readStackYaml } from './stack-files.js';

/** Series Prometheus writes itself for alerts. */
const PROMETHEUS_SERIES = ['ALERTS', 'ALERTS_FOR_STATE'];

describe('Grafana dashboard (collector/dashboards/breakwater.json)', () => {
  const dashboard = readDashboard();
  const panels = allPanels(dashboard);
  const queries = dashboardQueries(dashboard);
  const datasources = readStackYaml('collector/grafana/provisioning/datasources/datasources.yaml') as {
    datasources: { uid: string; type: string }[];
  };
  const uidType = new Map(datasources.datasources.map((d) => [d.uid, d.type]));
  const panelTitled = (pattern: RegExp): Panel => {
    const found = panels.filter((p) => pattern.test(p.title));
    expect(found, `one panel titled like ${pattern}; titles: ${panels.map((p) => p.title).join(' | ')}`).to.have.length(1);
    return found[0]!;
  };
  const reads = (panel: Panel) => (panel.targets ?? []).flatMap((t) => metricNames(concreteExpr(t.expr ?? '', dashboard)));

  it('is a Grafana 11 dashboard (schemaVersion 39) with a fixed uid', () => {
    expect(dashboard.schemaVersion).to.equal(39);
    expect(dashboard.uid).to.equal('breakwater');
    expect(new Set(panels.map((p) => p.title)).size, 'panel titles are distinct').to.equal(panels.length);
  });

  it('gives every panel and every query a provisioned data source, and every panel a query', () => {
    for (const panel of panels) {
      expect(uidType.get(panel.datasource?.uid ?? ''), `panel "${panel.title}" data source`).to.equal(panel.datasource?.type);
      expect(panel.targets, `panel "${panel.title}" targets`).to.be.an('array').that.is.not.empty;
      for (const target of panel.targets ?? []) {
        expect(uidType.get(target.datasource?.uid ?? ''), `panel "${panel.title}" ${target.refId}`).to.equal('prometheus');
        expect(target.expr, `panel "${panel.title}" ${target.refId} expr`).to.match(/\S/);
      }
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      expect(uidType.get(variable.datasource?.uid ?? ''), `variable ${variable.name}`).to.equal('prometheus');
    }
  });

  it('reads only metric names breakwater exports, the rules record or Prometheus writes (span metrics only where the title says Collector)', () => {
    const allowed = new Set([...exportedMetricNames(), ...recordingRules(readRules()).map((r) => r.record), ...PROMETHEUS_SERIES]);
    const unknown: string[] = [];
    for (const query of queries) {
      for (const name of metricNames(concreteExpr(query.expr, dashboard))) {
        const collectorPanel = /Collector/.test(query.where) && COLLECTOR_SPAN_METRICS.has(name);
        if (!allowed.has(name) && !collectorPanel) unknown.push(`${query.where}: ${name}`);
      }
    }
    expect(unknown).to.deep.equal([]);
  });

  it('uses the recording rules where they exist', () => {
    // The storm's ratio (retries and hedges), and retries alone beside it.
    expect(reads(panelTitled(/^Retry ratio/))).to.deep.equal(['breakwater:extra_attempts_per_first_attempt:ratio_rate5m', 'breakwater:retries_per_first_attempt:ratio_rate5m']);
    expect(reads(panelTitled(/^Hedging/))).to.deep.equal(['resilience_hedges_total', 'breakwater:hedges_won:ratio_rate5m']);
    expect(reads(panelTitled(/^Error ratio per target/))).to.deep.equal(['breakwater:error_ratio:rate5m']);
    expect(reads(panelTitled(/^Error budget burn/))).to.include('breakwater:operation_error_ratio:rate1h');
  });

  it('has the panels issue 6 lists, each reading what it shows', () => {
    expect(reads(panelTitled(/^Attempts and outcomes per target$/))).to.deep.equal(['resilience_attempts_total']);
    expect(reads(panelTitled(/^Error categories over time$/))).to.deep.equal(['resilience_errors_total']);
    expect(reads(panelTitled(/^Suppressed retries by reason$/))).to.deep.equal(['resilience_retries_suppressed_total']);
    const breaker = panelTitled(/^Breaker state per target$/);
    expect(breaker.type).to.equal('state-timeline');
    expect(reads(breaker)).to.deep.equal(['resilience_circuit_state']);
    const heatmap = panelTitled(/^HTTP attempt latency \(heatmap\)$/);
    expect(heatmap.type).to.equal('heatmap');
    expect(reads(heatmap)).to.deep.equal(['http_client_request_duration_seconds_bucket']);
    expect(reads(panelTitled(/^Attempt latency p99 per dependency$/)).sort()).to.deep.equal(['db_client_operation_duration_seconds_bucket', 'http_client_request_duration_seconds_bucket']);
    expect(reads(panelTitled(/^Detected patterns/))).to.deep.equal(['resilience_pattern_detected_total']);
    const alerts = panelTitled(/^Firing alerts$/);
    expect(reads(alerts)).to.deep.equal(['ALERTS']);
    expect(alerts.targets?.[0]?.expr).to.contain('alertname=~"Breakwater.*"');
  });

  it('links latency to traces in Jaeger: exemplars on the latency queries, and data links to a Jaeger search by target', () => {
    const exemplarPanels = panels.filter((p) => (p.targets ?? []).some((t) => t.exemplar === true)).map((p) => p.title);
    expect(exemplarPanels).to.include.members(['HTTP attempt latency (heatmap)', 'Attempt latency p99 per dependency', 'Span latency with exemplar traces (Collector span metrics)']);
    const linked = panels.filter((p) => (p.fieldConfig?.defaults?.links ?? []).some((l) => /\/search\?service=.*resilience\.target/.test(l.url ?? '')));
    expect(linked.map((p) => p.title)).to.include.members(['Attempts and outcomes per target']);
    const byServer = panels.filter((p) => (p.fieldConfig?.defaults?.links ?? []).some((l) => /\/search\?service=.*server\.address/.test(l.url ?? '')));
    expect(byServer.map((p) => p.title)).to.deep.equal(['Attempt latency p99 per dependency']);
  });

  it('defines every template variable it uses', () => {
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    const texts = [
      ...queries.map((q) => q.expr),
      ...panels.flatMap((p) => (p.fieldConfig?.defaults?.links ?? []).map((l) => l.url ?? '')),
      ...(dashboard.links ?? []).map((l) => l.url ?? ''),
    ];
    // Grafana's own: $__rate_interval, ${__field.labels.x}, ${__from}...
    const used = new Set(texts.flatMap(variablesUsed).filter((name) => !name.startsWith('__')));
    expect([...used].filter((name) => !defined.has(name))).to.deep.equal([]);
    expect([...used].sort()).to.include.members(['client', 'jaeger_url', 'service', 'target']);
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      expect(variable.allValue, `${variable.name}: "All" must mean any value, missing label included`).to.equal('.*');
    }
  });

  it('reads variable values with label_values over a selector', () => {
    expect(labelValuesSelector('label_values(resilience_attempts_total{a="b"}, resilience_target)')).to.equal('resilience_attempts_total{a="b"}');
    expect(labelValuesSelector('label_values(service_name)')).to.equal(undefined);
    expect(queries.filter((q) => q.where.startsWith('variable')).map((q) => q.where)).to.deep.equal(['variable $service', 'variable $target', 'variable $client']);
  });

  it('has only expressions Prometheus parses (promtool check rules, each as a recording rule)', async function () {
    this.timeout(15 * 60_000); // only a first run on a fresh machine installs promtool
    const promtool = await ensurePromtool();
    const rules = { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query:${i}`, expr: concreteExpr(q.expr, dashboard) })) }] };
    const dir = await mkdtemp(join(tmpdir(), 'breakwater-dashboard-'));
    try {
      await writeFile(join(dir, 'dashboard.rules.yaml'), stringify(rules));
      const result = await run(promtool, ['check', 'rules', join(dir, 'dashboard.rules.yaml')]);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.contain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
