// End to end: a real Prometheus scrapes a real application under breakwater/register
// (its metrics served by the OpenTelemetry Prometheus exporter) while this test breaks
// the application's dependencies, loads the pattern rules (time-scaled, see
// scaled-rules.ts) and collector/prometheus/prometheus.yml's direct-scrape job, and
// reads the result through Prometheus's HTTP API: the alerts that must fire, the metric
// names as Prometheus stores them, and every PromQL expression of the Grafana dashboard.
//
// The scenario, driven by conditions polled in Prometheus rather than by fixed sleeps:
//   A. seven dependencies, all healthy, until the hour-long baseline rate (a minute,
//      scaled) has enough samples; calls to one of them, `slow` (one answer in four
//      after 30 ms), are hedged, and stay so throughout; an eighth, `limited`, is called
//      in bursts its policy's limits turn away (one attempt in flight; its 429's
//      Retry-After pauses it) from the start, so its limited alert fires on its own;
//   B. `reset` resets every connection (a real TCP RST from the fault proxy): its breaker
//      opens; it alone fails, so spike, segmented, circuit-open and budget-burn fire;
//   C. once `reset` has been failing for the cascade's 15 minutes (15 s), three more
//      degrade: `unavailable` answers every other request with 503 (each call is retried
//      once: a retry storm), `timeout` never answers (300 ms timeouts: its breaker opens),
//      `flapping` goes down for 0.8 s every 3 s (its breaker trips again and again), and
//      `exhausted` answers one request in four with 507 Insufficient Storage (category
//      resource: resource exhaustion).
// The app runs the in-process detector too, time-scaled like the rules: it must detect
// the same patterns on the same dependencies.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { ALERT_RULES } from '../../src/patterns/alerts.js';
import { METRICS } from '../../src/telemetry/names.js';
import { COLLECTOR_SPAN_METRICS, concreteExpr, dashboardQueries, readDashboard } from '../collector/dashboard.js';
import { exportedMetricNames, metricNames } from '../collector/promql-names.js';
import { recordingRules, readRules, RULES_PATH } from '../collector/rules-file.js';
import { REPO_ROOT, startChild, type RunningChild } from '../helpers/child.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { httpServer, type HttpTestServer } from '../integration/http-server.js';
import { postgres } from '../integration/servers.js';
import { freePort, startPrometheus, type PrometheusServer } from './prometheus-server.js';
import { scaleRules } from './scaled-rules.js';

/** Every duration of the rules divided by this: a minute becomes a second. */
const TIME_SCALE = 60;
const PROMETHEUS_YML = `${REPO_ROOT}collector/prometheus/prometheus.yml`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 250 ms until it returns true or `ms` pass; true when it succeeded. */
async function until(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
}

interface Expected {
  alert: string;
  /** The dependency it names (the origin, for the cascade). */
  target: () => string;
  phase: 'A' | 'B' | 'C';
}

describe('end to end: Prometheus scrapes an app under breakwater/register while its dependencies fail', function () {
  this.timeout(150_000);

  let upstream: HttpTestServer;
  let unavailable: HttpTestServer;
  let exhausted: HttpTestServer;
  let slow: HttpTestServer;
  let limited: HttpTestServer;
  const proxies: Record<'reset' | 'timeout' | 'flapping' | 'healthy', FaultProxy | undefined> = {
    reset: undefined,
    timeout: undefined,
    flapping: undefined,
    healthy: undefined,
  };
  let app: RunningChild | undefined;
  let prometheus: PrometheusServer | undefined;
  let flapTimer: NodeJS.Timeout | undefined;
  /** What the in-process detector (time-scaled by 60, as the rules are) reported: Prometheus's series and the app's stderr lines. */
  const detected = { series: [] as { pattern: string; target: string }[], lines: [] as string[] };

  const key = (port: number) => `http://127.0.0.1:${port}`;
  const targetOf = (name: keyof typeof proxies) => key(proxies[name]!.port);
  const expected: Expected[] = [
    { alert: 'BreakwaterErrorSpike', target: () => targetOf('reset'), phase: 'B' },
    { alert: 'BreakwaterSegmentedErrors', target: () => targetOf('reset'), phase: 'B' },
    { alert: 'BreakwaterCircuitOpen', target: () => targetOf('reset'), phase: 'B' },
    { alert: 'BreakwaterErrorBudgetBurn', target: () => targetOf('reset'), phase: 'B' },
    { alert: 'BreakwaterCascade', target: () => targetOf('reset'), phase: 'C' },
    { alert: 'BreakwaterRetryStorm', target: () => key(unavailable.port), phase: 'C' },
    { alert: 'BreakwaterCircuitOpen', target: () => targetOf('timeout'), phase: 'C' },
    { alert: 'BreakwaterCircuitFlapping', target: () => targetOf('flapping'), phase: 'C' },
    { alert: 'BreakwaterResourceExhaustion', target: () => key(exhausted.port), phase: 'C' },
    { alert: 'BreakwaterDependencyLimited', target: () => key(limited.port), phase: 'A' },
  ];
  const label = (e: Expected) => `${e.alert} on ${e.target()}`;
  /** Seconds from the start of its phase until Prometheus reported the alert firing. */
  const firedAfter = new Map<string, number>();
  const phaseStart: Record<Expected['phase'], number> = { A: Number.NaN, B: Number.NaN, C: Number.NaN };
  const results = new Map<string, number>();
  let rawNames: string[] = [];
  let storedNames: string[] = [];
  /** The timeout dependency's breaker at the end: its state gauge, and its transitions to closed since phase C. */
  let timeoutBreaker = { gauge: [] as string[], closedSinceC: Number.NaN, toOpenSinceC: Number.NaN };
  /** The hedged dependency at the end, from the recording rules: hedges a second, the share that won, extra attempts per first attempt. */
  let hedging = { hedges: Number.NaN, won: Number.NaN, extraPerFirst: Number.NaN };
  /** The limited dependency at the end: attempts turned away per reason (all time), its concurrency limit and the most in flight under it. */
  let limits = { concurrency: Number.NaN, rate: Number.NaN, limit: [] as number[], maxInFlight: Number.NaN };
  const diagnostics: string[] = [];

  async function recordFiring(): Promise<void> {
    for (const alert of await prometheus!.alerts()) {
      if (alert.state !== 'firing') continue;
      for (const e of expected) {
        if (alert.labels['alertname'] !== e.alert || alert.labels['resilience_target'] !== e.target()) continue;
        if (!firedAfter.has(label(e)) && !Number.isNaN(phaseStart[e.phase])) {
          firedAfter.set(label(e), (Date.now() - phaseStart[e.phase]) / 1000);
        }
      }
    }
  }
  const fired = (phase: Expected['phase']) => expected.filter((e) => e.phase === phase).every((e) => firedAfter.has(label(e)));

  before(async function () {
    upstream = await httpServer((req, res) => {
      req.resume();
      res.end('ok');
    });
    let failEveryOther = false;
    let requests = 0;
    unavailable = await httpServer((req, res) => {
      req.resume();
      // Alternating, not random: the first attempt of each call fails and its retry
      // succeeds, so the breaker never sees two failures in a row and stays closed.
      if (failEveryOther && requests++ % 2 === 0) res.writeHead(503).end('busy');
      else res.end('ok');
    });
    let outOfStorage = false;
    let storageRequests = 0;
    exhausted = await httpServer((req, res) => {
      req.resume();
      if (outOfStorage && storageRequests++ % 4 === 0) res.writeHead(507).end('full');
      else res.end('ok');
    });
    let slowRequests = 0;
    slow = await httpServer((req, res) => {
      req.resume();
      // One request in four answers late: a call whose first attempt is that one gets a
      // hedge after 5 ms (the next request), which answers at once and wins.
      if (slowRequests++ % 4 === 0) setTimeout(() => res.end('ok'), 30);
      else res.end('ok');
    });
    limited = await httpServer((req, res) => {
      req.resume();
      // The app asks for it (see metrics-app.ts): the target is paused for a second.
      if (req.url?.includes('throttle')) res.writeHead(429, { 'Retry-After': '1' }).end('slow down');
      else setTimeout(() => res.end('ok'), 5);
    });
    for (const name of Object.keys(proxies) as (keyof typeof proxies)[]) {
      proxies[name] = await startFaultProxy({ host: '127.0.0.1', port: upstream.port });
    }

    const appPort = await freePort();
    const env: Record<string, string> = {
      OTEL_SERVICE_NAME: 'breakwater-e2e',
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(appPort),
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      // The HTTP dependencies are called through the runtime by hand (metrics-app.ts);
      // a healthy PostgreSQL through the real pg adapter feeds db.client.operation.duration.
      BREAKWATER_INSTRUMENTATIONS: 'pg',
      E2E_PG_URL: (await postgres()).url,
      BREAKWATER_TIMEOUT_MS: '300',
      BREAKWATER_RETRY_MAX_ATTEMPTS: '3',
      BREAKWATER_RETRY_BASE_DELAY_MS: '10',
      BREAKWATER_RETRY_MAX_DELAY_MS: '50',
      // Retries limited by the attempts only: the storm is what the test wants to see.
      BREAKWATER_RETRY_BUDGET_RATIO: '1',
      BREAKWATER_RETRY_BUDGET_MIN_PER_SECOND: '100',
      BREAKWATER_BREAKER: 'consecutive',
      BREAKWATER_BREAKER_THRESHOLD: '5',
      BREAKWATER_BREAKER_OPEN_MS: '1000',
      BREAKWATER_BREAKER_MAX_OPEN_MS: '2000',
      E2E_TARGETS: JSON.stringify([
        `${targetOf('healthy')}/`,
        `${targetOf('reset')}/`,
        `${key(unavailable.port)}/`,
        `${targetOf('timeout')}/`,
        `${targetOf('flapping')}/`,
        `${key(exhausted.port)}/`,
        `${key(slow.port)}/`,
      ]),
      E2E_HEDGED_TARGETS: JSON.stringify([`${key(slow.port)}/`]),
      E2E_LIMITED_TARGETS: JSON.stringify([`${key(limited.port)}/`]),
      E2E_PAUSE_MS: '100',
      E2E_GC_INTERVAL_MS: '2000',
    };
    // The in-process detector too, its minutes scaled as the rules' are.
    env['BREAKWATER_PATTERNS'] = 'true';
    env['BREAKWATER_PATTERNS_TIME_SCALE'] = String(TIME_SCALE);
    app = startChild(['--expose-gc', '--require', 'breakwater/register', 'build/test/e2e/metrics-app.js'], env, 170_000);
    const first = await Promise.race([app.firstLine, app.done.then((r) => `exited: ${r.code} ${r.stderr}`)]);
    expect(first, 'the app starts').to.match(/^ready 8/);
    phaseStart.A = Date.now();

    // The shipped configuration's direct-scrape job, pointed at the app, at 1 s; plus a
    // copy of the same scrape that keeps the names exactly as the exporter served them
    // (prefixed, so that no query mixes them up with the real ones).
    const shipped = parse(readFileSync(PROMETHEUS_YML, 'utf8')) as {
      scrape_configs: { job_name: string; static_configs?: unknown; metric_relabel_configs?: unknown[] }[];
    };
    const direct = shipped.scrape_configs.find((job) => job.job_name === 'breakwater-direct');
    if (direct === undefined) throw new Error(`${PROMETHEUS_YML} has no breakwater-direct job`);
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: ['$DIR/breakwater.rules.scaled.yaml'],
      scrape_configs: [
        { ...direct, static_configs: [{ targets: [`127.0.0.1:${appPort}`] }] },
        {
          job_name: 'as-served',
          static_configs: [{ targets: [`127.0.0.1:${appPort}`] }],
          metric_relabel_configs: [{ source_labels: ['__name__'], regex: '((?:resilience|http_client|db_client)_.*)', target_label: '__name__', replacement: 'e2e_served_${1}' }],
        },
      ],
    };
    prometheus = await startPrometheus(stringify(config), {
      'breakwater.rules.scaled.yaml': scaleRules(readFileSync(RULES_PATH, 'utf8'), TIME_SCALE),
    });

    // A: healthy until the baseline (rate1h, a minute here) has 12 s of samples for every dependency.
    const baseline = await until(45_000, async () => {
      const counts = await prometheus!.query('count_over_time(breakwater:error_ratio:rate1h[30s])');
      // Nine dependencies: the eight HTTP ones and the healthy PostgreSQL.
      return counts.length === 9 && counts.every((s) => Number(s.value?.[1]) >= 12);
    });
    if (!baseline) throw new Error(`no baseline after 45 s; Prometheus log:\n${prometheus.log().slice(-2000)}`);

    // B: one dependency resets every connection.
    phaseStart.B = Date.now();
    await proxies.reset!.setFault({ kind: 'reset_on_connect' });
    proxies.reset!.resetAll(); // keep-alive connections made before the fault too
    const reset = targetOf('reset');
    await until(40_000, async () => {
      await recordFiring();
      // The cascade needs its origin degraded 15 (scaled) minutes ago as well.
      const origin = await prometheus!.query(`breakwater:degraded_error_ratio:rate5m{resilience_target="${reset}"} offset 16s`);
      return fired('B') && origin.length > 0;
    });

    // C: three more degrade.
    phaseStart.C = Date.now();
    failEveryOther = true;
    outOfStorage = true;
    await proxies.timeout!.setFault({ kind: 'blackhole' });
    proxies.timeout!.resetAll();
    let down = false;
    const flap = async () => {
      down = !down;
      await proxies.flapping!.setFault(down ? { kind: 'reset_on_connect' } : { kind: 'none' });
      if (down) proxies.flapping!.resetAll();
      flapTimer = setTimeout(() => void flap(), down ? 800 : 2200);
    };
    await flap();
    await until(50_000, async () => {
      await recordFiring();
      return fired('C');
    });
    if (!fired('B') || !fired('C')) {
      // What Prometheus saw of the dependencies whose alert is missing, for the failure message.
      for (const e of expected.filter((x) => !firedAfter.has(label(x)))) {
        const t = e.target();
        const lines = await Promise.all(
          [
            `resilience_circuit_state{resilience_target="${t}"} == 1`,
            `increase(resilience_circuit_rejections_total{resilience_target="${t}"}[5s])`,
            `sum by (resilience_outcome) (rate(resilience_attempts_total{resilience_target="${t}"}[5s]))`,
            `ALERTS{resilience_target="${t}"}`,
          ].map(async (q) => `${q} -> ${JSON.stringify((await prometheus!.query(q)).map((r) => [r.metric, r.value?.[1]]))}`),
        );
        // And what the app serves right now, circuit lines only.
        const served = (await (await fetch(`http://127.0.0.1:${appPort}/metrics`)).text())
          .split('\n')
          .filter((l) => l.includes(`"${t}"`) && /^resilience_circuit/.test(l));
        diagnostics.push(`${label(e)}:\n  ${lines.join('\n  ')}\n  served now:\n  ${served.join('\n  ')}`);
      }
    }

    // The timeout dependency's breaker cannot have closed since C began (nothing answers).
    const timeout = targetOf('timeout');
    const sinceC = `${Math.ceil((Date.now() - phaseStart.C) / 1000)}s`;
    const transitions = async (to: string) =>
      Number((await prometheus!.query(`sum(increase(resilience_circuit_transitions_total{resilience_target="${timeout}", resilience_circuit_to="${to}"}[${sinceC}])) or vector(0)`))[0]?.value?.[1] ?? Number.NaN);
    timeoutBreaker = {
      gauge: (await prometheus.query(`resilience_circuit_state{resilience_target="${timeout}"} == 1`)).map((s) => s.metric['resilience_circuit_state'] ?? ''),
      closedSinceC: await transitions('closed'),
      toOpenSinceC: await transitions('open'),
    };

    const ofSlow = async (rule: string) => Number((await prometheus!.query(`${rule}{resilience_target="${key(slow.port)}"}`))[0]?.value?.[1] ?? Number.NaN);
    hedging = {
      hedges: await ofSlow('breakwater:hedges:rate5m'),
      won: await ofSlow('breakwater:hedges_won:ratio_rate5m'),
      extraPerFirst: await ofSlow('breakwater:extra_attempts_per_first_attempt:ratio_rate5m'),
    };

    const ofLimited = async (query: string) =>
      (await prometheus!.query(query.replaceAll('$target', `resilience_target="${key(limited.port)}"`))).map((s) => Number(s.value?.[1]));
    const turnedAway = async (reason: string) => (await ofLimited(`sum(resilience_limited_total{$target, resilience_limit_reason="${reason}"})`))[0] ?? 0;
    limits = {
      concurrency: await turnedAway('concurrency'),
      rate: await turnedAway('rate'),
      limit: await ofLimited('resilience_concurrency_limit{$target}'),
      maxInFlight: (await ofLimited('max(max_over_time(resilience_concurrency_in_flight{$target}[1m]))'))[0] ?? Number.NaN,
    };

    // What Prometheus stored, and every dashboard expression, while the faults last.
    const names = async (regex: string) =>
      [...new Set((await prometheus!.series(`{__name__=~"${regex}"}`, 300)).map((s) => s['__name__'] ?? ''))].sort();
    rawNames = (await names('e2e_served_.*')).map((n) => n.replace(/^e2e_served_/, ''));
    storedNames = await names('(resilience|http_client|db_client)_.*');
    const dashboard = readDashboard();
    for (const query of dashboardQueries(dashboard)) {
      const samples = await prometheus.query(concreteExpr(query.expr, dashboard));
      results.set(query.where, samples.length);
    }
    detected.series = (await prometheus.query('sum by (resilience_pattern, resilience_target) (resilience_pattern_detected_total)')).map((s) => ({
      pattern: s.metric['resilience_pattern'] ?? '',
      target: s.metric['resilience_target'] ?? '',
    }));
    app.child.kill('SIGTERM');
    const { stderr } = await app.done;
    detected.lines = stderr.split('\n').filter((line) => line.startsWith('breakwater: pattern '));
  });

  after(async function () {
    if (flapTimer !== undefined) clearTimeout(flapTimer);
    if (app !== undefined && app.child.exitCode === null) {
      app.child.kill('SIGTERM');
      await app.done.catch(() => undefined);
    }
    await prometheus?.stop();
    for (const proxy of Object.values(proxies)) await proxy?.close();
    await unavailable?.close();
    await exhausted?.close();
    await slow?.close();
    await limited?.close();
    await upstream?.close();
    const times = [...firedAfter].map(([what, s]) => `${what}: ${s.toFixed(1)} s`);
    console.log(`      alerts firing after the start of their phase:\n        ${times.join('\n        ')}`);
    console.log(`      names as the exporter served them: ${rawNames.join(', ')}`);
  });

  describe('alerts (rules time-scaled by 60) become firing, read from /api/v1/alerts', () => {
    for (const e of expected) {
      it(`${e.alert} (phase ${e.phase}, ${e.alert === 'BreakwaterCascade' ? 'origin' : 'on'} the ${e.phase === 'B' ? 'resetting' : 'named'} dependency)`, () => {
        expect(firedAfter.get(label(e)), `${label(e)} never fired; fired: ${[...firedAfter.keys()].join('; ')}\n${diagnostics.join('\n')}`).to.be.a('number');
      });
    }
  });

  it('resilience_circuit_state follows the breaker: open or half-open, never closed, while its dependency never answers', () => {
    // The app collects garbage every 2 s (E2E_GC_INTERVAL_MS): a gauge whose callback is
    // held only weakly freezes at its last values after a collection.
    expect(timeoutBreaker.closedSinceC, 'transitions to closed since phase C').to.equal(0);
    expect(timeoutBreaker.toOpenSinceC, 'transitions to open since phase C').to.be.greaterThan(0);
    const hint = 'the state whose gauge is 1 (none, or a stale one, after a garbage collection: is the gauge callback\'s source held strongly?)';
    expect(timeoutBreaker.gauge, hint).to.have.length(1).and.to.satisfy((s: string[]) => ['open', 'half_open'].includes(s[0] ?? ''));
  });

  it('the hedged dependency: its hedges are recorded, win, and count as extra attempts, under the storm threshold as its budget keeps them', () => {
    expect(hedging.hedges, 'breakwater:hedges:rate5m').to.be.greaterThan(0);
    expect(hedging.won, 'breakwater:hedges_won:ratio_rate5m: each hedge races a first attempt 30 ms late').to.be.greaterThan(0.5);
    // A hedge for one call in three, about 0.33 per first attempt.
    expect(hedging.extraPerFirst, 'breakwater:extra_attempts_per_first_attempt:ratio_rate5m').to.be.within(0.1, 0.5);
  });

  it('the limited dependency: both limits turn attempts away, and its concurrency limit holds at 1 with at most 1 in flight', () => {
    // A burst every 3 s, one call of each turned away (concurrency, or rate for 15 s after a 429); every tenth burst a 429, and the call after it turned away (rate).
    expect(limits.concurrency, 'resilience_limited_total{resilience_limit_reason="concurrency"}').to.be.greaterThan(3);
    expect(limits.rate, 'resilience_limited_total{resilience_limit_reason="rate"}').to.be.greaterThan(0);
    expect(limits.limit, 'resilience_concurrency_limit').to.deep.equal([1]);
    expect(limits.maxInFlight, 'resilience_concurrency_in_flight over the last minute').to.be.within(0, 1);
  });

  describe('the in-process detector (BREAKWATER_PATTERNS_TIME_SCALE=60) finds the patterns too', () => {
    const patternOf = (alert: string) => ALERT_RULES.find((rule) => rule.name === alert)?.pattern ?? `(no rule ${alert})`;
    for (const e of expected) {
      it(`${patternOf(e.alert)} on the dependency of ${e.alert} (phase ${e.phase}): a resilience_pattern_detected series and a stderr line`, () => {
        const pattern = patternOf(e.alert);
        const found = detected.series.map((s) => `${s.pattern} ${s.target}`);
        expect(found, 'resilience_pattern_detected_total in Prometheus').to.include(`${pattern} ${e.target()}`);
        expect(detected.lines.some((line) => line.startsWith(`breakwater: pattern ${pattern} on ${e.target()}`)), detected.lines.join('\n')).to.equal(true);
      });
    }
  });

  describe('metric names', () => {
    it('the exporter serves the counters and the gauge under the documented names, but the histograms without the `_seconds` unit', () => {
      // The OpenTelemetry JS Prometheus exporter adds `_total` to counters and nothing
      // else: no unit suffix (the documented name is resilience_operation_duration_seconds) and no
      // `_ratio` on the unit-1 gauge. collector/prometheus/prometheus.yml renames the
      // histograms at scrape time; this assertion pins exactly what is served.
      const served = new Set<string>();
      for (const metric of METRICS) {
        if (metric.kind === 'histogram') {
          for (const suffix of ['_bucket', '_sum', '_count']) served.add(metric.name.replace(/\./g, '_') + suffix);
        } else {
          served.add(metric.prometheus);
        }
      }
      expect(rawNames).to.deep.equal([...served].sort());
    });

    it('after the direct job\'s relabelling, Prometheus stores exactly the documented names', () => {
      expect(storedNames).to.deep.equal([...exportedMetricNames()].sort());
    });
  });

  describe('every PromQL expression of the dashboard returns data', () => {
    const dashboard = readDashboard();
    const recorded = new Set(recordingRules(readRules()).map((r) => r.record));
    for (const query of dashboardQueries(dashboard)) {
      const names = metricNames(concreteExpr(query.expr, dashboard));
      if (names.some((n) => COLLECTOR_SPAN_METRICS.has(n))) {
        // Pinned rather than skipped: the reason must stay true.
        it(`${query.where}: no data here (span metrics need the Collector)`, () => {
          expect(results.get(query.where)).to.equal(0);
        });
        continue;
      }
      it(`${query.where}`, () => {
        expect(results.get(query.where), `${concreteExpr(query.expr, dashboard)} (reads ${names.filter((n) => !recorded.has(n)).join(', ')})`).to.be.greaterThan(0);
      });
    }
  });
});
