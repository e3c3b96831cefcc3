import { expect } from 'chai';
import { SUPPRESS_REASONS } from '../../src/engine/options.js';
import {
  ATTR_ATTEMPT,
  ATTR_CLIENT,
  ATTR_ERROR_CATEGORY,
  ATTR_HTTP_RESEND_COUNT,
  ATTR_OUTCOME,
  ATTR_RETRY_SUPPRESSED,
  ATTR_TARGET,
  EVENT_CIRCUIT_TRANSITION,
} from '../../src/telemetry/names.js';
import { COLLECTOR_CONFIG_FILES, parseCollectorYaml, readCollectorConfig, type CollectorConfigFile } from './collector-files.js';
import { goRegExp } from './go-regexp.js';
import { validateCollectorConfig } from './validate-collector-config.js';

/** The parts of a configuration these tests read; the validator has checked the rest. */
interface Pipeline {
  receivers: string[];
  processors?: string[];
  exporters: string[];
}
interface CollectorConfig {
  processors: Record<string, Record<string, unknown> | null>;
  connectors?: Record<string, Record<string, unknown> | null>;
  exporters: Record<string, Record<string, unknown> | null>;
  service: { pipelines: Record<string, Pipeline> };
}
interface Policy {
  name: string;
  type: string;
  [block: string]: unknown;
}

const load = (file: CollectorConfigFile) => readCollectorConfig(file) as CollectorConfig;
const typeOf = (id: string) => id.split('/', 1)[0];
const pipelines = (config: CollectorConfig) => Object.entries(config.service.pipelines);
/** The pipelines fed straight by the OTLP receiver with spans: the first place data is touched. */
const tracesFromOtlp = (config: CollectorConfig) =>
  pipelines(config).filter(([id, p]) => typeOf(id) === 'traces' && p.receivers.includes('otlp'));
const processorsOfType = (config: CollectorConfig, pipeline: Pipeline, type: string) =>
  (pipeline.processors ?? []).filter((id) => typeOf(id) === type).map((id) => config.processors[id] ?? {});

/** A configuration that passes; each negative test breaks one thing in a fresh copy. */
function minimalConfig(): Record<string, any> {
  return {
    receivers: { otlp: { protocols: { grpc: { endpoint: '0.0.0.0:4317' } } } },
    processors: {
      memory_limiter: { check_interval: '1s', limit_mib: 512 },
      batch: null,
      tail_sampling: { policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] },
    },
    connectors: { spanmetrics: null, 'forward/sampling': null },
    exporters: { 'otlp/jaeger': { endpoint: 'jaeger:4317', tls: { insecure: true } }, prometheus: { endpoint: '0.0.0.0:8889' } },
    extensions: { health_check: null },
    service: {
      extensions: ['health_check'],
      pipelines: {
        'traces/in': { receivers: ['otlp'], processors: ['memory_limiter', 'batch'], exporters: ['spanmetrics', 'forward/sampling'] },
        'traces/sampled': { receivers: ['forward/sampling'], processors: ['memory_limiter', 'tail_sampling', 'batch'], exporters: ['otlp/jaeger'] },
        metrics: { receivers: ['otlp', 'spanmetrics'], processors: ['memory_limiter', 'batch'], exporters: ['prometheus'] },
      },
    },
  };
}

describe('Collector configurations (collector/)', () => {
  for (const file of COLLECTOR_CONFIG_FILES) {
    describe(file, () => {
      it('parses as YAML into a configuration with a service section', () => {
        const config = readCollectorConfig(file);
        expect(config).to.be.an('object').with.property('service').that.is.an('object');
      });

      it('passes the structural validator: components exist, are wired, and use real keys only', () => {
        expect(validateCollectorConfig(readCollectorConfig(file))).to.deep.equal([]);
      });

      it('scrubs secrets in every traces pipeline fed by OTLP, before anything is exported', () => {
        const config = load(file);
        const entries = tracesFromOtlp(config);
        expect(entries).to.not.be.empty;
        for (const [, pipeline] of entries) {
          const scrubbed = processorsOfType(config, pipeline, 'attributes')
            .flatMap((p) => (p['actions'] as { key: string; action: string }[]))
            .filter((a) => a.action === 'delete' || a.action === 'hash')
            .map((a) => a.key);
          expect(scrubbed).to.include.members(['http.request.header.authorization', 'http.request.header.cookie', 'url.query']);
          const redaction = processorsOfType(config, pipeline, 'redaction');
          expect(redaction, 'a redaction processor').to.have.lengthOf(1);
          // With allow_all_keys false, the processor deletes every attribute it was not told to allow.
          expect(redaction[0]).to.have.property('allow_all_keys', true);
          expect(processorsOfType(config, pipeline, 'transform')).to.not.be.empty;
        }
      });

      it('takes the endpoints a user changes from the environment, with a default', () => {
        const text = JSON.stringify(readCollectorConfig(file));
        const endpoints = text.match(/"endpoint":"[^"]*"/g) ?? [];
        expect(endpoints).to.not.be.empty;
        for (const endpoint of endpoints) expect(endpoint).to.match(/^"endpoint":"\$\{env:[A-Z_]+:-[^}]+\}"$/);
      });
    });
  }
});

describe('the tail-sampling Collectors (otelcol.yaml, gateway.yaml)', () => {
  for (const file of ['otelcol.yaml', 'gateway.yaml'] as const) {
    describe(file, () => {
      const config = load(file);
      const policies = (config.processors['tail_sampling']?.['policies'] ?? []) as Policy[];
      const policy = (type: string, key?: string) =>
        policies.find((p) => p.type === type && (key === undefined || (p[type] as { key?: string }).key === key));

      it('computes span metrics from every span, in a pipeline that does not sample', () => {
        const feeding = pipelines(config).filter(([, p]) => p.exporters.includes('spanmetrics'));
        expect(feeding).to.have.lengthOf(1);
        const [, pipeline] = feeding[0]!;
        expect(pipeline.receivers).to.deep.equal(['otlp']);
        expect(pipeline.processors).to.not.include('tail_sampling');
      });

      it('samples in a pipeline of its own, fed by the unsampled one, exporting to Jaeger', () => {
        const sampling = pipelines(config).filter(([, p]) => p.processors?.includes('tail_sampling'));
        expect(sampling).to.have.lengthOf(1);
        const [, pipeline] = sampling[0]!;
        expect(pipeline.receivers.every((id) => config.connectors?.[id] !== undefined), 'receives from a connector only').to.equal(true);
        expect(pipeline.exporters).to.deep.equal(['otlp/jaeger']);
      });

      it('exports metrics, the package\'s own and the span metrics, through no sampling processor', () => {
        for (const [id, pipeline] of pipelines(config).filter(([id]) => typeOf(id) === 'metrics')) {
          expect(pipeline.processors, id).to.not.include('tail_sampling');
        }
        const toPrometheus = pipelines(config).filter(([, p]) => p.exporters.includes('prometheus'));
        expect(toPrometheus.flatMap(([, p]) => p.receivers)).to.include('spanmetrics');
      });

      it('keeps every trace with an error', () => {
        expect(policy('status_code')?.['status_code']).to.deep.equal({ status_codes: ['ERROR'] });
      });

      it('keeps every retried trace: an HTTP resend, or a second attempt of any client', () => {
        expect(policy('numeric_attribute', ATTR_HTTP_RESEND_COUNT)?.['numeric_attribute']).to.include({ min_value: 1 });
        expect(policy('numeric_attribute', ATTR_ATTEMPT)?.['numeric_attribute']).to.include({ min_value: 2 });
      });

      it('keeps every trace with a suppressed retry, whatever the reason', () => {
        const block = policy('string_attribute', ATTR_RETRY_SUPPRESSED)?.['string_attribute'] as { values: string[]; enabled_regex_matching: boolean };
        expect(block.enabled_regex_matching).to.equal(true);
        for (const reason of SUPPRESS_REASONS) {
          expect(block.values.some((v) => goRegExp(`^(?:${v})$`).test(reason)), reason).to.equal(true);
        }
      });

      it('keeps every trace with a breaker transition, as a span or as an event', () => {
        const block = policy('ottl_condition')?.['ottl_condition'] as { span: string[]; spanevent: string[] };
        expect(block.span).to.include(`name == "${EVENT_CIRCUIT_TRANSITION}"`);
        expect(block.spanevent).to.include(`name == "${EVENT_CIRCUIT_TRANSITION}"`);
      });

      it('keeps 5% of the other traces by default, a share set by TRACE_BASELINE_SAMPLE_PERCENT', () => {
        expect(policy('probabilistic')?.['probabilistic']).to.deep.equal({ sampling_percentage: '${env:TRACE_BASELINE_SAMPLE_PERCENT:-5}' });
      });

      it('breaks span metrics down by the package\'s own, bounded attributes', () => {
        const dimensions = (config.connectors?.['spanmetrics']?.['dimensions'] as { name: string }[]).map((d) => d.name);
        expect(dimensions).to.deep.equal([ATTR_TARGET, ATTR_CLIENT, ATTR_OUTCOME, ATTR_ERROR_CATEGORY]);
      });

      it('exports traces to Jaeger over OTLP, and metrics with service.name as a label', () => {
        expect(config.exporters['otlp/jaeger']).to.deep.equal({ endpoint: '${env:JAEGER_ENDPOINT:-jaeger:4317}', tls: { insecure: '${env:JAEGER_TLS_INSECURE:-true}' } });
        expect(config.exporters['prometheus']).to.deep.include({ resource_to_telemetry_conversion: { enabled: true } });
      });
    });
  }
});

describe('the fleet agent tier (gateway-agent.yaml)', () => {
  const config = load('gateway-agent.yaml');

  it('does not sample: it routes each trace, whole, to one gateway by trace ID', () => {
    const traces = tracesFromOtlp(config);
    expect(traces).to.have.lengthOf(1);
    const [, pipeline] = traces[0]!;
    expect(pipeline.processors).to.not.include('tail_sampling');
    expect(pipeline.exporters).to.deep.equal(['loadbalancing']);
    expect(config.exporters['loadbalancing']).to.deep.include({ routing_key: 'traceID' });
  });

  it('finds the gateways through a DNS name taken from the environment', () => {
    const resolver = config.exporters['loadbalancing']?.['resolver'] as { dns: { hostname: string } };
    expect(resolver.dns.hostname).to.equal('${env:GATEWAY_DNS_NAME:-otelcol-gateway}');
  });
});

describe('the redaction rules', () => {
  const config = load('otelcol.yaml');
  const redaction = config.processors['redaction'] as { blocked_values: string[]; blocked_key_patterns: string[] };
  const masks = (value: string) => redaction.blocked_values.some((pattern) => goRegExp(pattern).test(value));

  const secrets = [
    'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig',
    'Basic dXNlcjpwYXNzd29yZA==',
    'postgresql://app:s3cret@db:5432/app',
    'redis://:hunter2@cache:6379/0',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln',
    'AKIAIOSFODNN7EXAMPLE',
    'https://api.example.com/v1?password=hunter2',
  ];
  for (const secret of secrets) {
    it(`masks a value like ${secret}`, () => {
      expect(masks(secret)).to.equal(true);
    });
  }

  // breakwater's own values must survive: a masked target key would break every dashboard.
  const ordinary = ['https://api.example.com:443', 'postgresql://db:5432/app', 'redis://cache:6379/0', 'GET', 'not_idempotent', 'authorization'];
  it('leaves breakwater\'s own attribute values alone (target keys, reasons, categories)', () => {
    expect(ordinary.filter(masks)).to.deep.equal([]);
  });

  it('masks header-like keys by name, whatever their value', () => {
    const byKey = (key: string) => redaction.blocked_key_patterns.some((pattern) => goRegExp(`^(?:${pattern.replace(/^\(\?i\)/, '')})$`, 'i').test(key));
    expect(['http.request.header.authorization', 'http.request.header.x-api-key', 'db.password'].filter(byKey)).to.have.lengthOf(3);
    expect([ATTR_TARGET, ATTR_RETRY_SUPPRESSED, ATTR_ERROR_CATEGORY, 'url.full'].filter(byKey)).to.deep.equal([]);
  });

  it('strips the query string and credentials from url.full', () => {
    const transform = config.processors['transform/scrub_urls'] as { trace_statements: { statements: string[] }[] };
    let url = 'https://user:pw@api.example.com/v1/items?token=abc#frag';
    for (const statement of transform.trace_statements.flatMap((s) => s.statements)) {
      const replace = /^replace_pattern\(attributes\["url\.full"\], "([^"]+)", "([^"]*)"\)/.exec(statement);
      if (replace) url = url.replace(goRegExp(replace[1]!, 'g'), replace[2]!);
    }
    expect(url).to.equal('https://api.example.com/v1/items');
  });
});

describe('the structural validator', () => {
  const problemsOf = (config: unknown) => validateCollectorConfig(config);

  it('passes the minimal configuration the failing cases start from', () => {
    expect(problemsOf(minimalConfig())).to.deep.equal([]);
  });

  it('fails a pipeline that references an undefined processor', () => {
    const config = minimalConfig();
    config['service'].pipelines.metrics.processors = ['memory_limiter', 'attributes/scrub', 'batch'];
    expect(problemsOf(config)).to.deep.equal(['service.pipelines.metrics: processor "attributes/scrub" is not defined under processors']);
  });

  it('fails an unknown component type', () => {
    const config = minimalConfig();
    config['processors'].tail_sampler = config['processors'].tail_sampling;
    delete config['processors'].tail_sampling;
    config['service'].pipelines['traces/sampled'].processors = ['memory_limiter', 'tail_sampler', 'batch'];
    const problems = problemsOf(config);
    expect(problems).to.have.lengthOf(1);
    expect(problems[0]).to.match(/^processors\.tail_sampler: unknown processor type "tail_sampler"/);
  });

  it('fails a misspelled key, and suggests the real one', () => {
    const config = minimalConfig();
    config['processors'].memory_limiter = { check_interval: '1s', limit_mb: 512 };
    const problems = problemsOf(config);
    expect(problems).to.have.lengthOf(1);
    expect(problems[0]).to.match(/^processors\.memory_limiter\.limit_mb: unknown key \(did you mean "limit_mib"\?\)/);
  });

  it('fails a misspelled key deep inside a tail_sampling policy', () => {
    const config = minimalConfig();
    config['processors'].tail_sampling.policies.push({ name: 'retries', type: 'numeric_attribute', numeric_attribute: { key: 'resilience.attempt', min_val: 2 } });
    expect(problemsOf(config)[0]).to.match(/^processors\.tail_sampling\.policies\[1\]\.numeric_attribute\.min_val: unknown key \(did you mean "min_value"\?\)/);
  });

  it('fails an unknown tail_sampling policy type', () => {
    const config = minimalConfig();
    config['processors'].tail_sampling.policies[0].type = 'status_codes';
    expect(problemsOf(config)[0]).to.match(/^processors\.tail_sampling\.policies\[0\]\.type: unknown policy type "status_codes" \(did you mean "status_code"\?\)/);
  });

  it('fails a policy block that its type would ignore', () => {
    const config = minimalConfig();
    config['processors'].tail_sampling.policies[0] = { name: 'p', type: 'string_attribute', numeric_attribute: { key: 'k', min_value: 1 } };
    expect(problemsOf(config)).to.deep.equal([
      'processors.tail_sampling.policies[0].numeric_attribute: a "numeric_attribute" block is ignored by a policy of type "string_attribute"',
    ]);
  });

  it('fails a misspelled loadbalancing resolver', () => {
    const config = minimalConfig();
    config['exporters'].loadbalancing = { routing_key: 'traceID', protocol: { otlp: { tls: { insecure: true } } }, resolver: { statc: { hostnames: ['gw-1:4317'] } } };
    config['service'].pipelines['traces/sampled'].exporters.push('loadbalancing');
    expect(problemsOf(config)[0]).to.match(/^exporters\.loadbalancing\.resolver\.statc: unknown key \(did you mean "static"\?\)/);
  });

  it('fails a pipeline whose first processor is not memory_limiter or whose last is not batch', () => {
    const config = minimalConfig();
    config['service'].pipelines['traces/sampled'].processors = ['tail_sampling', 'memory_limiter'];
    expect(problemsOf(config)).to.deep.equal([
      'service.pipelines.traces/sampled: memory_limiter must be the first processor (found "tail_sampling")',
      'service.pipelines.traces/sampled: batch must be the last processor (found "memory_limiter")',
    ]);
  });

  it('fails a connector used on one side only', () => {
    const config = minimalConfig();
    config['service'].pipelines.metrics.receivers = ['otlp'];
    expect(problemsOf(config)).to.deep.equal(["connectors.spanmetrics: used as an exporter but as no pipeline's receiver"]);
  });

  it('fails a connector between signals it cannot join', () => {
    const config = minimalConfig();
    config['service'].pipelines.metrics.receivers = ['otlp'];
    config['service'].pipelines['traces/sampled'].receivers = ['forward/sampling', 'spanmetrics'];
    const problems = problemsOf(config);
    expect(problems.some((p) => p.startsWith('connectors.spanmetrics: received from in a traces pipeline'))).to.equal(true);
  });

  it('fails a component in a pipeline of a signal it does not support', () => {
    const config = minimalConfig();
    config['service'].pipelines.metrics.processors = ['memory_limiter', 'tail_sampling', 'batch'];
    expect(problemsOf(config)).to.deep.equal(['service.pipelines.metrics: processor "tail_sampling" does not support metrics (only traces)']);
  });

  it('fails an extension that is enabled but not defined, and one defined but not enabled', () => {
    const config = minimalConfig();
    config['service'].extensions = ['healthcheck'];
    expect(problemsOf(config)).to.deep.equal([
      'service.extensions: "healthcheck" is not defined under extensions',
      'extensions.health_check: defined but not used in service.extensions',
    ]);
  });

  it('fails a configuration without pipelines, and a pipeline without receivers or exporters', () => {
    const none = minimalConfig();
    none['service'].pipelines = {};
    expect(problemsOf(none)).to.include('service.pipelines: no pipeline defined');
    const empty = minimalConfig();
    empty['service'].pipelines.metrics = { receivers: [], processors: ['memory_limiter', 'batch'], exporters: [] };
    expect(problemsOf(empty)).to.include.members(['service.pipelines.metrics: no receivers', 'service.pipelines.metrics: no exporters']);
  });

  it('refuses a component defined twice, which YAML would otherwise let the second replace', () => {
    expect(() => parseCollectorYaml('processors:\n  batch:\n    timeout: 1s\n  batch:\n    timeout: 5s\n')).to.throw(/unique/);
  });
});
