// examples/stack/compose.yaml and every file it mounts, checked without Docker (not
// available on our machines): the compose file's own consistency, the provisioning,
// prometheus.yml (promtool), the Collector configuration with the stack's overrides,
// and the flaky dependency it runs. The rules and prometheus.yml's direct job also run
// in a real Prometheus in test/e2e/prometheus.test.ts.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { parseCollectorYaml } from './collector-files.js';
import { goRegExp } from './go-regexp.js';
import { exportedMetricNames, metricNames } from './promql-names.js';
import { ensurePromtool, run } from './promtool.js';
import { recordingRules, readRules } from './rules-file.js';
import { bindMount, COMPOSE_PATH, endpointPort, readCompose, readStackYaml, REPO, type ComposeService } from './stack-files.js';
import { validateCollectorConfig } from './validate-collector-config.js';

const STACK_DIR = join(REPO, 'examples/stack');
const PROMETHEUS_YML = 'collector/prometheus/prometheus.yml';

interface PrometheusConfig {
  rule_files: string[];
  scrape_configs: {
    job_name: string;
    static_configs?: { targets: string[] }[];
    metric_relabel_configs?: { source_labels: string[]; regex: string; target_label: string; replacement: string }[];
  }[];
}

/** Sets `a::b::c=value` on a parsed config, as otelcol's --set flag does. */
function applySet(config: Record<string, unknown>, flag: string): void {
  const [path, value] = flag.replace(/^--set=/, '').split('=');
  const keys = (path ?? '').split('::');
  let node = config;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1) ?? ''] = value === 'true' ? true : value === 'false' ? false : value;
}

/** Where a container path of a service comes from on the host, through its bind mounts. */
function hostPathOf(service: ComposeService, containerPath: string): string | undefined {
  for (const mount of (service.volumes ?? []).map(bindMount)) {
    if (mount === undefined) continue;
    const rel = posix.relative(mount.container, containerPath);
    if (rel === '' || (!rel.startsWith('..') && !posix.isAbsolute(rel))) return join(resolve(STACK_DIR, mount.host), rel);
  }
  return undefined;
}

/** Applies a metric_relabel_configs entry to a metric name, as Prometheus does (anchored RE2). */
function relabelName(name: string, rules: NonNullable<PrometheusConfig['scrape_configs'][number]['metric_relabel_configs']>): string {
  for (const rule of rules) {
    const match = goRegExp(`^(?:${rule.regex})$`).exec(name);
    if (match) name = rule.replacement.replace(/\$\{(\d+)\}|\$(\d+)/g, (_, a?: string, b?: string) => match[Number(a ?? b)] ?? '');
  }
  return name;
}

describe('the stack (examples/stack/compose.yaml) and the files it mounts', () => {
  const compose = readCompose();
  const services = compose.services;
  const service = (name: string): ComposeService => {
    const found = services[name];
    if (found === undefined) throw new Error(`${COMPOSE_PATH} has no service ${name}`);
    return found;
  };

  it('runs the Collector, Jaeger, Prometheus, Grafana, the demo app and its flaky dependency', () => {
    expect(Object.keys(services).sort()).to.deep.equal(['demo-app', 'flaky-api', 'grafana', 'jaeger', 'otelcol', 'prometheus']);
    for (const [name, s] of Object.entries(services)) {
      for (const dependency of s.depends_on ?? []) expect(services, `${name} depends on ${dependency}`).to.have.property(dependency);
    }
  });

  it('pins every image to an exact version, never latest', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).to.match(/^[\w./-]+:v?\d+\.\d+\.\d+(-[\w.-]+)?$/);
    }
    const readme = readFileSync(join(REPO, 'collector/README.md'), 'utf8');
    const release = /written for \*\*v(\d+\.\d+\.\d+)\*\*/.exec(readme)?.[1];
    expect(release, 'collector/README.md names its release').to.be.a('string');
    expect(service('otelcol').image).to.equal(`otel/opentelemetry-collector-contrib:${release}`);
  });

  it('mounts only host paths that exist in the repository', () => {
    const mounts = Object.entries(services).flatMap(([name, s]) => (s.volumes ?? []).map((v) => [name, v] as const));
    expect(mounts).to.not.be.empty;
    for (const [name, volume] of mounts) {
      const mount = bindMount(volume);
      expect(mount, `${name}: ${volume} is a bind mount`).to.not.equal(undefined);
      const host = resolve(STACK_DIR, mount!.host);
      expect(host.startsWith(REPO.replace(/\/$/, '')), `${name}: ${volume} stays inside the repository`).to.equal(true);
      expect(existsSync(host), `${name}: ${volume}: ${host} exists`).to.equal(true);
    }
  });

  it('runs Node scripts that exist in the mounted repository', () => {
    for (const name of ['demo-app', 'flaky-api']) {
      const s = service(name);
      const script = (s.command ?? []).find((arg) => /\.m?js$/.test(arg));
      expect(script, `${name} runs a script`).to.be.a('string');
      const host = hostPathOf(s, posix.join(s.working_dir ?? '/', script!));
      expect(host !== undefined && existsSync(host), `${name}: ${script} exists`).to.equal(true);
    }
    expect(service('demo-app').command).to.deep.equal(['node', '--import', 'breakwater/register', 'examples/register-demo/app.mjs']);
  });

  it('points the app at the Collector\'s OTLP/HTTP receiver, and the Collector at Jaeger, on the ports otelcol.yaml listens on', () => {
    const otelcol = service('otelcol');
    const configPath = /--config=(\S+)/.exec((otelcol.command ?? []).join(' '))?.[1] ?? '';
    const hostConfig = hostPathOf(otelcol, configPath);
    expect(hostConfig, 'the Collector config is mounted').to.equal(join(REPO, 'collector/otelcol.yaml'));
    const config = parseCollectorYaml(readFileSync(hostConfig!, 'utf8')) as {
      receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
      exporters: { prometheus: { endpoint: string } };
    };
    const app = service('demo-app').environment ?? {};
    const otlp = new URL(app['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? '');
    expect(otlp.hostname).to.equal('otelcol');
    expect(Number(otlp.port)).to.equal(endpointPort(config.receivers.otlp.protocols.http.endpoint));
    expect(app['OTEL_EXPORTER_OTLP_PROTOCOL']).to.match(/^http\//); // the HTTP receiver, not gRPC
    expect(app['OTEL_METRICS_EXPORTER']).to.equal('otlp');
    expect(app['OTEL_TRACES_EXPORTER']).to.equal('otlp');
    const jaeger = otelcol.environment?.['JAEGER_ENDPOINT'] ?? '';
    expect(jaeger).to.equal('jaeger:4317'); // Jaeger's OTLP gRPC port
    expect(service('jaeger').environment?.['COLLECTOR_OTLP_ENABLED']).to.equal('true');
    const prometheus = readStackYaml(PROMETHEUS_YML) as PrometheusConfig;
    const collectorJob = prometheus.scrape_configs.find((j) => j.job_name === 'otel-collector');
    expect(collectorJob?.static_configs?.[0]?.targets).to.deep.equal([`otelcol:${endpointPort(config.exporters.prometheus.endpoint)}`]);
    const api = new URL(app['DEMO_API'] ?? '');
    expect(api.hostname).to.equal('flaky-api');
    expect(api.port).to.equal(service('flaky-api').environment?.['PORT']);
  });

  it('gives the Collector overrides (--set) that otelcol.yaml accepts: exemplars on span metrics, OpenMetrics out', () => {
    const otelcol = service('otelcol');
    const config = parseCollectorYaml(readFileSync(join(REPO, 'collector/otelcol.yaml'), 'utf8')) as Record<string, unknown>;
    const sets = (otelcol.command ?? []).filter((arg) => arg.startsWith('--set='));
    expect(sets).to.have.length(2);
    for (const flag of sets) applySet(config, flag);
    expect(validateCollectorConfig(config)).to.deep.equal([]);
    expect((config['connectors'] as Record<string, Record<string, unknown>>)['spanmetrics']?.['exemplars']).to.deep.equal({ enabled: true });
  });

  it('runs Prometheus with the mounted configuration and rules, and exemplar storage', () => {
    const prometheus = service('prometheus');
    const command = prometheus.command ?? [];
    expect(command).to.include('--enable-feature=exemplar-storage');
    const configPath = /--config\.file=(\S+)/.exec(command.join(' '))?.[1] ?? '';
    expect(hostPathOf(prometheus, configPath)).to.equal(join(REPO, PROMETHEUS_YML));
    const config = readStackYaml(PROMETHEUS_YML) as PrometheusConfig;
    // The rules file reaches a path the rule_files glob matches.
    const rulesInContainer = config.rule_files.map((glob) => glob.replace('*.yaml', 'breakwater.rules.yaml'));
    expect(rulesInContainer.map((p) => hostPathOf(prometheus, p))).to.deep.equal([join(REPO, 'collector/rules/breakwater.rules.yaml')]);
  });

  it('has a prometheus.yml that promtool accepts', async function () {
    this.timeout(15 * 60_000); // only a first run on a fresh machine installs promtool
    const promtool = await ensurePromtool();
    const result = await run(promtool, ['check', 'config', join(REPO, PROMETHEUS_YML)]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
  });

  it('renames what each exporter gets wrong back to the documented names (docs/telemetry.md), and nothing else', () => {
    const config = readStackYaml(PROMETHEUS_YML) as PrometheusConfig;
    const job = (name: string) => config.scrape_configs.find((j) => j.job_name === name)?.metric_relabel_configs ?? [];
    const exported = [...exportedMetricNames()];
    // The Collector's exporter (OpenTelemetry's naming rules for Prometheus) adds `_ratio` to a unit-1 gauge.
    expect(relabelName('resilience_circuit_state_ratio', job('otel-collector'))).to.equal('resilience_circuit_state');
    for (const name of exported) expect(relabelName(name, job('otel-collector'))).to.equal(name);
    // The JavaScript exporter adds no unit: resilience_operation_duration_bucket (seen in the e2e test).
    for (const name of exported) {
      const served = name.replace(/_seconds_(bucket|sum|count)$/, '_$1');
      expect(relabelName(served, job('breakwater-direct')), served).to.equal(name);
    }
    expect(relabelName('process_cpu_seconds_total', job('breakwater-direct'))).to.equal('process_cpu_seconds_total');
  });

  describe('Grafana provisioning', () => {
    const grafana = service('grafana');
    const datasources = readStackYaml('collector/grafana/provisioning/datasources/datasources.yaml') as {
      apiVersion: number;
      datasources: { uid: string; type: string; url: string; jsonData?: Record<string, unknown> }[];
    };
    const byUid = new Map(datasources.datasources.map((d) => [d.uid, d]));

    it('mounts the provisioning folders and the dashboards where the provider reads them', () => {
      expect(hostPathOf(grafana, '/etc/grafana/provisioning/datasources/datasources.yaml')).to.equal(
        join(REPO, 'collector/grafana/provisioning/datasources/datasources.yaml'),
      );
      const providers = readStackYaml('collector/grafana/provisioning/dashboards/dashboards.yaml') as {
        apiVersion: number;
        providers: { type: string; options: { path: string } }[];
      };
      expect(hostPathOf(grafana, '/etc/grafana/provisioning/dashboards/dashboards.yaml')).to.equal(
        join(REPO, 'collector/grafana/provisioning/dashboards/dashboards.yaml'),
      );
      expect(providers.apiVersion).to.equal(1);
      const provider = providers.providers[0];
      expect(provider?.type).to.equal('file');
      expect(hostPathOf(grafana, posix.join(provider?.options.path ?? '', 'breakwater.json'))).to.equal(
        join(REPO, 'collector/dashboards/breakwater.json'),
      );
      const home = grafana.environment?.['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'] ?? '';
      expect(hostPathOf(grafana, home)).to.equal(join(REPO, 'collector/dashboards/breakwater.json'));
    });

    it('provides Prometheus (uid prometheus) with exemplar trace IDs opening in Jaeger (uid jaeger), at the compose services', () => {
      expect(datasources.apiVersion).to.equal(1);
      const prometheus = byUid.get('prometheus');
      const jaeger = byUid.get('jaeger');
      expect(prometheus?.type).to.equal('prometheus');
      expect(jaeger?.type).to.equal('jaeger');
      expect(prometheus?.jsonData?.['exemplarTraceIdDestinations']).to.deep.equal([
        { name: 'trace_id', datasourceUid: 'jaeger', urlDisplayLabel: 'Trace in Jaeger' },
      ]);
      for (const source of [prometheus, jaeger]) {
        const url = new URL(source?.url ?? '');
        expect(services, `${source?.uid} at ${url.hostname}`).to.have.property(url.hostname);
      }
      expect(new URL(jaeger?.url ?? '').port).to.equal(service('jaeger').ports?.[0]?.split(':')[1]?.replace(/\D.*$/, ''));
    });

    it('queries only known metric names from traces (Jaeger -> Prometheus)', () => {
      const queries = (byUid.get('jaeger')?.jsonData?.['tracesToMetrics'] as { queries: { query: string }[] }).queries;
      const known = new Set([...exportedMetricNames(), ...recordingRules(readRules()).map((r) => r.record)]);
      for (const { query } of queries) {
        // `$$__tags` is Grafana's escaped `$__tags` (the span's tags as label matchers).
        const names = metricNames(query.replace('$$__tags', 'resilience_target="x"'));
        expect(names.filter((n) => !known.has(n)), query).to.deep.equal([]);
      }
    });
  });

  it('runs a flaky dependency that answers (healthy first)', async () => {
    const child = spawn(process.execPath, [join(REPO, 'examples/stack/flaky-api.mjs')], {
      env: { ...process.env, PORT: '0', PHASE_SECONDS: '60' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((done, fail) => {
        child.stdout.once('data', (d: Buffer) => done(d.toString()));
        child.once('exit', (code) => fail(new Error(`flaky-api exited with ${code}`)));
      });
      const port = /listening on (\d+)/.exec(line)?.[1];
      const res = await fetch(`http://127.0.0.1:${port}/price`);
      expect(res.status).to.equal(200);
      expect(await res.text()).to.equal('"42.00"');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
