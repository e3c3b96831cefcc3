/**
 * The otelcol-contrib components our Collector configurations use, with the configuration
 * keys each really accepts, read from the Go source (mapstructure tags).
 *
 * Distribution: every module below is in the otelcol-contrib v0.140.1 manifest,
 * open-telemetry/opentelemetry-collector-releases tag v0.140.1
 * (a5d62ab47500aa2a3793378513e252b181f691c0), distributions/otelcol-contrib/manifest.yaml.
 *
 * Core components (otlp, batch, memory_limiter, forward, and the config/* structs the others
 * embed): open-telemetry/opentelemetry-collector tag v0.140.0
 * (97fdd8b3cab2fd3ada2cf3c4b259efc203351d13), the version otelcol-contrib v0.140.1 builds.
 *
 * Contrib components: the opentelemetry-collector-contrib repository is too large to fetch
 * here, so its files were read from a source index that holds many versions of each file,
 * by commit, undated; the commit read is given per component. Each key our configurations
 * use was checked to exist there (README "What was validated"). A key this table lacks is
 * reported as unknown: add it after reading the component's config.go at the release you run.
 */
import { ANY, KeysOf, Tagged, keys, listOf, scalars, type Shape } from './config-shape.js';

export type ComponentKind = 'receiver' | 'processor' | 'exporter' | 'connector' | 'extension';
export type Signal = 'traces' | 'metrics' | 'logs';

export interface ComponentSpec {
  readonly kind: ComponentKind;
  /** The component type: the part of a component id before `/`. */
  readonly type: string;
  /** Go module, as listed in the otelcol-contrib manifest. */
  readonly module: string;
  /** Where the keys were read: repository, file and commit. */
  readonly source: string;
  readonly config: KeysOf;
  /** Pipeline signals a receiver, processor or exporter supports (its metadata.yaml). */
  readonly signals?: readonly Signal[];
  /** Connector: the (exporter pipeline, receiver pipeline) signal pairs it joins. */
  readonly connects?: readonly (readonly [Signal, Signal])[];
}

const CORE = 'open-telemetry/opentelemetry-collector@v0.140.0';
const CONTRIB = 'open-telemetry/opentelemetry-collector-contrib';
const ALL_SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

// config/configtls/configtls.go: Config, squashed into ClientConfig and ServerConfig.
const tlsCommon = scalars(
  'ca_file', 'ca_pem', 'include_system_ca_certs_pool', 'cert_file', 'cert_pem', 'key_file', 'key_pem',
  'min_version', 'max_version', 'cipher_suites', 'reload_interval', 'curve_preferences', 'tpm',
);
const tlsClient = keys({ ...tlsCommon, ...scalars('insecure', 'insecure_skip_verify', 'server_name_override') });
const tlsServer = keys({ ...tlsCommon, ...scalars('client_ca_file', 'client_ca_file_reload') });

// config/configgrpc/configgrpc.go: ServerConfig (confignet.AddrConfig squashed) and ClientConfig.
const grpcServer = {
  ...scalars('endpoint', 'transport'),
  dialer: keys(scalars('timeout')),
  tls: tlsServer,
  ...scalars('max_recv_msg_size_mib', 'max_concurrent_streams', 'read_buffer_size', 'write_buffer_size'),
  keepalive: keys({
    server_parameters: keys(scalars('max_connection_idle', 'max_connection_age', 'max_connection_age_grace', 'time', 'timeout')),
    enforcement_policy: keys(scalars('min_time', 'permit_without_stream')),
  }),
  ...scalars('auth', 'include_metadata', 'middlewares'),
};
const grpcClient = {
  ...scalars('endpoint', 'compression'),
  tls: tlsClient,
  keepalive: keys(scalars('time', 'timeout', 'permit_without_stream')),
  ...scalars('read_buffer_size', 'write_buffer_size', 'wait_for_ready', 'headers', 'balancer_name', 'authority', 'auth', 'middlewares'),
};

// config/confighttp/server.go: ServerConfig.
const httpServer = {
  endpoint: ANY,
  tls: tlsServer,
  cors: keys(scalars('allowed_origins', 'allowed_headers', 'max_age')),
  ...scalars(
    'auth', 'max_request_body_size', 'include_metadata', 'response_headers', 'compression_algorithms',
    'read_timeout', 'read_header_timeout', 'write_timeout', 'idle_timeout', 'middlewares', 'keep_alives_enabled',
  ),
};

// exporter/exporterhelper: TimeoutConfig (squashed), QueueBatchConfig, configretry.BackOffConfig.
const sendingQueue = keys({
  ...scalars('enabled', 'wait_for_result', 'sizer', 'queue_size', 'block_on_overflow', 'storage', 'num_consumers'),
  batch: keys(scalars('flush_timeout', 'sizer', 'min_size', 'max_size')),
});
const retryOnFailure = keys(
  scalars('enabled', 'initial_interval', 'randomization_factor', 'multiplier', 'max_interval', 'max_elapsed_time'),
);

// exporter/otlpexporter/config.go; also the loadbalancing exporter's protocol.otlp.
const otlpExporterConfig = keys({
  timeout: ANY,
  sending_queue: sendingQueue,
  retry_on_failure: retryOnFailure,
  ...grpcClient,
});

// processor/tailsamplingprocessor/config.go: policy types and the block each one reads.
const samplingBlocks: Record<string, Shape | null> = {
  always_sample: null,
  latency: keys(scalars('threshold_ms', 'upper_threshold_ms')),
  numeric_attribute: keys(scalars('key', 'min_value', 'max_value', 'invert_match')),
  probabilistic: keys(scalars('hash_salt', 'sampling_percentage')),
  status_code: keys(scalars('status_codes')),
  string_attribute: keys(scalars('key', 'values', 'enabled_regex_matching', 'cache_max_size', 'invert_match')),
  rate_limiting: keys(scalars('spans_per_second')),
  span_count: keys(scalars('min_spans', 'max_spans')),
  trace_state: keys(scalars('key', 'values')),
  boolean_attribute: keys(scalars('key', 'value')),
  ottl_condition: keys(scalars('error_mode', 'span', 'spanevent')),
};
const andPolicy = keys({ and_sub_policy: listOf(new Tagged('type', { name: ANY }, samplingBlocks)) });
export const TAIL_SAMPLING_POLICY = new Tagged('type', { name: ANY }, {
  ...samplingBlocks,
  and: andPolicy,
  composite: keys({
    ...scalars('max_total_spans_per_second', 'policy_order'),
    composite_sub_policy: listOf(new Tagged('type', { name: ANY }, { ...samplingBlocks, and: andPolicy })),
    rate_allocation: listOf(keys(scalars('policy', 'percent'))),
  }),
});

// processor/transformprocessor/internal/common/config.go: ContextStatements, or a plain
// statement string (flat style, parsed by Config.Unmarshal).
const contextStatements = listOf(new KeysOf(scalars('context', 'statements'), true));

export const COMPONENTS: readonly ComponentSpec[] = [
  {
    kind: 'receiver',
    type: 'otlp',
    module: 'go.opentelemetry.io/collector/receiver/otlpreceiver',
    source: `${CORE} receiver/otlpreceiver/config.go`,
    signals: ALL_SIGNALS,
    config: keys({
      protocols: keys({
        grpc: keys(grpcServer),
        http: keys({ ...httpServer, ...scalars('traces_url_path', 'metrics_url_path', 'logs_url_path') }),
      }),
    }),
  },
  {
    kind: 'processor',
    type: 'memory_limiter',
    module: 'go.opentelemetry.io/collector/processor/memorylimiterprocessor',
    source: `${CORE} internal/memorylimiter/config.go`,
    signals: ALL_SIGNALS,
    config: keys(scalars(
      'check_interval', 'min_gc_interval_when_soft_limited', 'min_gc_interval_when_hard_limited',
      'limit_mib', 'spike_limit_mib', 'limit_percentage', 'spike_limit_percentage',
    )),
  },
  {
    kind: 'processor',
    type: 'batch',
    module: 'go.opentelemetry.io/collector/processor/batchprocessor',
    source: `${CORE} processor/batchprocessor/config.go`,
    signals: ALL_SIGNALS,
    config: keys(scalars('timeout', 'send_batch_size', 'send_batch_max_size', 'metadata_keys', 'metadata_cardinality_limit')),
  },
  {
    kind: 'processor',
    type: 'tail_sampling',
    module: `github.com/${CONTRIB}/processor/tailsamplingprocessor`,
    source: `${CONTRIB}@497862f69939b03daed1915653227b6defa85c0f processor/tailsamplingprocessor/config.go`,
    signals: ['traces'],
    config: keys({
      ...scalars('decision_wait', 'num_traces', 'expected_new_traces_per_sec'),
      policies: listOf(TAIL_SAMPLING_POLICY),
    }),
  },
  {
    kind: 'processor',
    type: 'attributes',
    module: `github.com/${CONTRIB}/processor/attributesprocessor`,
    source:
      `${CONTRIB} processor/attributesprocessor/config.go (squashes filterconfig.MatchConfig and attraction.Settings); ` +
      `internal/coreinternal/attraction/attraction.go@045e588ca5b74dd25e647d51c459ddf2dcfefaef; ` +
      `internal/filter/filterconfig/config.go@b2ab9b354aee31be96782473fd3699689cb0fcdb`,
    signals: ALL_SIGNALS,
    config: keys({
      ...scalars('include', 'exclude'),
      actions: listOf(keys(scalars('key', 'value', 'pattern', 'from_attribute', 'from_context', 'converted_type', 'action'))),
    }),
  },
  {
    kind: 'processor',
    type: 'redaction',
    module: `github.com/${CONTRIB}/processor/redactionprocessor`,
    source: `${CONTRIB}@0fac4282367bc9d604200b9689e4ffed3a349a7c processor/redactionprocessor/config.go`,
    signals: ALL_SIGNALS,
    config: keys(scalars(
      'allow_all_keys', 'allowed_keys', 'blocked_key_patterns', 'ignored_keys', 'redact_all_types',
      'blocked_values', 'allowed_values', 'summary',
    )),
  },
  {
    kind: 'processor',
    type: 'transform',
    module: `github.com/${CONTRIB}/processor/transformprocessor`,
    source:
      `${CONTRIB}@a06eecf1ed29fe263a0de977886bdd0a062bb16a processor/transformprocessor/config.go; ` +
      `@ba96fac11e362dac875087feb7cf0be6fc289388 processor/transformprocessor/internal/common/config.go`,
    signals: ALL_SIGNALS,
    config: keys({
      error_mode: ANY,
      trace_statements: contextStatements,
      metric_statements: contextStatements,
      log_statements: contextStatements,
      flatten_data: ANY,
    }),
  },
  {
    kind: 'connector',
    type: 'spanmetrics',
    module: `github.com/${CONTRIB}/connector/spanmetricsconnector`,
    source: `${CONTRIB}@5c0bb0113e96e2356116024184aab218a446e358 connector/spanmetricsconnector/config.go`,
    connects: [['traces', 'metrics']],
    config: keys({
      dimensions: listOf(keys(scalars('name', 'default'))),
      calls_dimensions: listOf(keys(scalars('name', 'default'))),
      ...scalars(
        'exclude_dimensions', 'dimensions_cache_size', 'resource_metrics_cache_size', 'resource_metrics_key_attributes',
        'aggregation_temporality', 'metrics_flush_interval', 'metrics_expiration', 'metric_timestamp_cache_size',
        'namespace', 'include_instrumentation_scope', 'aggregation_cardinality_limit',
      ),
      histogram: keys({
        ...scalars('disable', 'unit'),
        exponential: keys(scalars('max_size')),
        explicit: keys(scalars('buckets')),
        dimensions: listOf(keys(scalars('name', 'default'))),
      }),
      exemplars: keys(scalars('enabled', 'max_per_data_point')),
      events: keys({ enabled: ANY, dimensions: listOf(keys(scalars('name', 'default'))) }),
    }),
  },
  {
    kind: 'connector',
    type: 'forward',
    module: 'go.opentelemetry.io/collector/connector/forwardconnector',
    source: `${CORE} connector/forwardconnector/forward.go (type Config struct{})`,
    connects: [['traces', 'traces'], ['metrics', 'metrics'], ['logs', 'logs']],
    config: keys({}),
  },
  {
    kind: 'exporter',
    type: 'otlp',
    module: 'go.opentelemetry.io/collector/exporter/otlpexporter',
    source: `${CORE} exporter/otlpexporter/config.go`,
    signals: ALL_SIGNALS,
    config: otlpExporterConfig,
  },
  {
    kind: 'exporter',
    type: 'prometheus',
    module: `github.com/${CONTRIB}/exporter/prometheusexporter`,
    source:
      `${CONTRIB}@0827c30acae7b3e376a4deeb4cf82fbf2e12e198 exporter/prometheusexporter/config.go; ` +
      `@971dab0ba42b60373bbfc041f75d0b92bc2e79f1 pkg/resourcetotelemetry/resource_to_telemetry.go`,
    signals: ['metrics'],
    config: keys({
      ...httpServer,
      sending_queue: sendingQueue,
      ...scalars('namespace', 'const_labels', 'send_timestamps', 'metric_expiration'),
      resource_to_telemetry_conversion: keys(scalars('enabled', 'exclude_service_attributes')),
      ...scalars('enable_open_metrics', 'add_metric_suffixes', 'translation_strategy'),
    }),
  },
  {
    kind: 'exporter',
    type: 'loadbalancing',
    module: `github.com/${CONTRIB}/exporter/loadbalancingexporter`,
    source:
      `${CONTRIB}@870de3632d376a989b61459319e6e8754ec1532c exporter/loadbalancingexporter/config.go ` +
      `(protocol, resolver static/dns/k8s, routing_key); the queue, retry, timeout, routing_attributes and ` +
      `aws_cloud_map keys of later releases from the same file in cardinalhq/opentelemetry-collector-contrib@9c35e6eca2c85c2f07ec56776fbe77448e8fefa9`,
    signals: ['traces', 'metrics', 'logs'],
    config: keys({
      timeout: ANY,
      retry_on_failure: retryOnFailure,
      sending_queue: sendingQueue,
      protocol: keys({ otlp: otlpExporterConfig }),
      resolver: keys({
        static: keys(scalars('hostnames')),
        dns: keys(scalars('hostname', 'port', 'interval', 'timeout')),
        k8s: keys(scalars('service', 'ports', 'timeout', 'return_hostnames')),
        aws_cloud_map: keys(scalars('namespace', 'service_name', 'health_status', 'interval', 'timeout', 'port')),
      }),
      ...scalars('routing_key', 'routing_attributes'),
    }),
  },
  {
    kind: 'extension',
    type: 'health_check',
    module: `github.com/${CONTRIB}/extension/healthcheckextension`,
    source: `${CONTRIB}@0ec4f86030b8d841365ec6205c6c4249c7248cef extension/healthcheckextension/config.go (squashes confighttp.ServerConfig)`,
    config: keys({
      ...httpServer,
      path: ANY,
      response_body: keys(scalars('healthy', 'unhealthy')),
      check_collector_pipeline: keys(scalars('enabled', 'interval', 'exporter_failure_threshold')),
    }),
  },
];

/** The spec of a component type of one kind, if otelcol-contrib has it (in this table). */
export function findComponent(kind: ComponentKind, type: string): ComponentSpec | undefined {
  return COMPONENTS.find((spec) => spec.kind === kind && spec.type === type);
}
