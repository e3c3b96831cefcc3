import { expect } from 'chai';
import { exportedMetricNames, metricNames, templateQueries } from './promql-names.js';

describe('metric names in PromQL', () => {
  it('finds the metric of a plain selector, and none of its label names or values', () => {
    expect(metricNames('rate(resilience_attempts_total{resilience_outcome="failure", job=~"shop|cart"}[5m])')).to.deep.equal([
      'resilience_attempts_total',
    ]);
  });

  it('skips aggregations, grouping and matching label lists, keywords, offsets and numbers', () => {
    const expr = `
      sum by (resilience_target, resilience_client) (rate(resilience_attempts_total[5m] offset 1h))
        / on (resilience_target) group_left (resilience_policy) breakwater:attempts:rate5m > bool 0.1
      and ignoring (instance) max without (job) (resilience_circuit_state) == 1
      or count(up @ start()) * 1e3 + 0x10 unless absent(resilience_errors_total) > Inf`;
    expect(metricNames(expr)).to.deep.equal([
      'resilience_attempts_total',
      'breakwater:attempts:rate5m',
      'resilience_circuit_state',
      'up',
      'resilience_errors_total',
    ]);
  });

  it('reads subqueries, comments and strings without taking words from them', () => {
    const expr = `max_over_time((breakwater:error_ratio:rate5m > 0.05)[1h:1m]) # not_a_metric here
      + label_replace(resilience_retry_delay_seconds_count, "dst", "$1 {x}", "src", "(.*)")`;
    expect(metricNames(expr)).to.deep.equal(['breakwater:error_ratio:rate5m', 'resilience_retry_delay_seconds_count']);
  });

  it('takes a name from a __name__ matcher, and reports a regex on __name__ as uncheckable', () => {
    expect(metricNames('{__name__="resilience_errors_total", job="x"}')).to.deep.equal(['resilience_errors_total']);
    expect(metricNames('{__name__=~"resilience_.*"}')).to.deep.equal(['__name__=~"resilience_.*"']);
  });

  it('reports a made-up metric that no exported name matches', () => {
    const exported = exportedMetricNames();
    const names = metricNames('sum(rate(resilience_attempt_total[5m])) / sum(rate(resilience_attempts_total[5m]))');
    expect(names.filter((n) => !exported.has(n))).to.deep.equal(['resilience_attempt_total']);
  });

  it('knows the exported names: counters and gauges as is, histograms as _bucket, _sum and _count', () => {
    const exported = exportedMetricNames();
    expect(exported.has('resilience_attempts_total')).to.equal(true);
    expect(exported.has('resilience_circuit_state')).to.equal(true);
    expect(exported.has('resilience_retry_delay_seconds_count')).to.equal(true);
    expect(exported.has('resilience_operation_duration_seconds_bucket')).to.equal(true);
    expect(exported.has('resilience_operation_duration_seconds')).to.equal(false);
  });

  it('finds the queries inside alert templates', () => {
    const template =
      `{{ $value | humanizePercentage }} against ` +
      `{{ with printf "breakwater:error_ratio:rate1h{resilience_target='%s'} offset 10m" $labels.resilience_target | query }}` +
      `{{ . | first | value }}{{ end }} and {{ with query "count(ALERTS)" }}{{ . | first | value }}{{ end }}`;
    expect(templateQueries(template)).to.deep.equal(["breakwater:error_ratio:rate1h{resilience_target='x'} offset 10m", 'count(ALERTS)']);
  });
});
