/**
 * A structural check of an OpenTelemetry Collector configuration, for where no Collector
 * binary can run `otelcol-contrib validate`: components exist and are wired the way the
 * Collector requires, every key is one the component's Go config struct decodes, and our
 * own rules hold (memory_limiter first and batch last in every pipeline, nothing defined
 * and left unused). It returns every problem found, each naming where it is, so a bad
 * config file fails with all its mistakes at once.
 *
 * It does not check values (durations, regular expressions, OTTL statements): the
 * Collector does that when it starts.
 */
import { suggest } from '../../src/config/suggest.js';
import { ANY, KeysOf, ListOf, Tagged, type Shape } from './config-shape.js';
import { findComponent, type ComponentKind, type Signal } from './contrib-components.js';

type Json = Record<string, unknown>;

const SECTIONS: Readonly<Record<string, ComponentKind>> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  connectors: 'connector',
  extensions: 'extension',
};
const TOP_LEVEL_KEYS = [...Object.keys(SECTIONS), 'service'];
const SERVICE_KEYS = ['extensions', 'pipelines', 'telemetry'];
const PIPELINE_KEYS = ['receivers', 'processors', 'exporters'];
const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];
// component.Type and the name after `/` (go.opentelemetry.io/collector/component/identifiable.go).
const COMPONENT_TYPE = /^[a-zA-Z][0-9a-zA-Z_]{0,62}$/;
/** `${env:NAME}`, `${env:NAME:-default}`: resolved when the Collector starts, so not checked. */
const EXPANDED_AT_START = /^\$\{[^}]+\}$/;

export function validateCollectorConfig(config: unknown): string[] {
  const problems: string[] = [];
  if (!isMap(config)) return ['the configuration is not a YAML map'];
  for (const key of Object.keys(config)) {
    if (!TOP_LEVEL_KEYS.includes(key)) problems.push(unknownKey('', key, TOP_LEVEL_KEYS));
  }
  const defined = checkComponents(config, problems);
  checkService(config['service'], defined, problems);
  return problems;
}

/** A component id `type[/name]` defined in a section, with the type it was found under. */
interface Defined {
  readonly id: string;
  readonly type: string;
  readonly kind: ComponentKind;
}

function checkComponents(config: Json, problems: string[]): Map<string, Defined> {
  const defined = new Map<string, Defined>();
  for (const [section, kind] of Object.entries(SECTIONS)) {
    const components = config[section];
    if (components === undefined || components === null) continue;
    if (!isMap(components)) {
      problems.push(`${section}: expected a map of ${kind} ids`);
      continue;
    }
    for (const [id, componentConfig] of Object.entries(components)) {
      const type = id.split('/', 1)[0] ?? '';
      const path = `${section}.${id}`;
      if (!COMPONENT_TYPE.test(type) || id.endsWith('/')) {
        problems.push(`${path}: "${id}" is not a component id of the form type[/name]`);
        continue;
      }
      defined.set(`${section}:${id}`, { id, type, kind });
      const spec = findComponent(kind, type);
      if (!spec) {
        problems.push(
          `${path}: unknown ${kind} type "${type}": not among the otelcol-contrib components verified in ` +
            `test/collector/contrib-components.ts (if it is a real one, add it there with the keys of its config.go)`,
        );
        continue;
      }
      checkShape(componentConfig, spec.config, path, problems);
    }
  }
  return defined;
}

function checkShape(value: unknown, shape: Shape, path: string, problems: string[]): void {
  if (shape === ANY || value === null || value === undefined) return;
  if (typeof value === 'string' && EXPANDED_AT_START.test(value)) return;
  if (shape instanceof ListOf) {
    if (!Array.isArray(value)) {
      problems.push(`${path}: expected a list`);
      return;
    }
    value.forEach((item, i) => checkShape(item, shape.item, `${path}[${i}]`, problems));
    return;
  }
  if (!isMap(value)) {
    if (!(shape instanceof KeysOf && shape.orScalar && !Array.isArray(value))) problems.push(`${path}: expected a map`);
    return;
  }
  if (shape instanceof KeysOf) {
    checkKeys(value, shape.keys, path, problems);
    return;
  }
  checkTagged(value, shape, path, problems);
}

function checkKeys(value: Json, known: Readonly<Record<string, Shape>>, path: string, problems: string[]): void {
  for (const [key, child] of Object.entries(value)) {
    const childShape = known[key];
    if (childShape === undefined) problems.push(unknownKey(path, key, Object.keys(known)));
    else checkShape(child, childShape, `${path}.${key}`, problems);
  }
}

/** A tail_sampling policy: its type must exist, and only that type's block is read. */
function checkTagged(value: Json, shape: Tagged, path: string, problems: string[]): void {
  const variant = value[shape.tag];
  const variants = Object.keys(shape.variants);
  if (typeof variant !== 'string') {
    problems.push(`${path}: missing "${shape.tag}" (one of: ${variants.join(', ')})`);
    return;
  }
  if (!variants.includes(variant)) {
    const hint = suggest(variant, variants);
    problems.push(`${path}.${shape.tag}: unknown policy type "${variant}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${variants.join(', ')}`);
    return;
  }
  const block = shape.variants[variant];
  for (const [key, child] of Object.entries(value)) {
    if (key === shape.tag) continue;
    const common = shape.common[key];
    if (common !== undefined) checkShape(child, common, `${path}.${key}`, problems);
    else if (key === variant && block) checkShape(child, block, `${path}.${key}`, problems);
    else if (variants.includes(key)) problems.push(`${path}.${key}: a "${key}" block is ignored by a policy of ${shape.tag} "${variant}"`);
    else problems.push(unknownKey(path, key, [...Object.keys(shape.common), shape.tag, ...(block ? [variant] : [])]));
  }
}

/** How one pipeline uses a connector: as its exporter or as its receiver, in a pipeline of this signal. */
interface ConnectorUse {
  readonly as: 'exporter' | 'receiver';
  readonly signal: Signal;
}

function checkService(service: unknown, defined: Map<string, Defined>, problems: string[]): void {
  if (!isMap(service)) {
    problems.push('service: missing, or not a map');
    return;
  }
  for (const key of Object.keys(service)) {
    if (!SERVICE_KEYS.includes(key)) problems.push(unknownKey('service', key, SERVICE_KEYS));
  }
  const used = new Set<string>();
  checkServiceExtensions(service['extensions'], defined, used, problems);

  const pipelines = service['pipelines'];
  if (!isMap(pipelines) || Object.keys(pipelines).length === 0) {
    problems.push('service.pipelines: no pipeline defined');
  } else {
    const connectorUses = new Map<string, ConnectorUse[]>();
    for (const [id, pipeline] of Object.entries(pipelines)) {
      checkPipeline(id, pipeline, defined, used, connectorUses, problems);
    }
    checkConnectorsJoinPipelines(defined, connectorUses, problems);
  }

  for (const [key, component] of defined) {
    if (!used.has(key)) {
      const section = key.split(':', 1)[0];
      const where = component.kind === 'extension' ? 'service.extensions' : 'any pipeline';
      problems.push(`${section}.${component.id}: defined but not used in ${where}`);
    }
  }
}

function checkServiceExtensions(extensions: unknown, defined: Map<string, Defined>, used: Set<string>, problems: string[]): void {
  if (extensions === undefined || extensions === null) return;
  if (!Array.isArray(extensions)) {
    problems.push('service.extensions: expected a list of extension ids');
    return;
  }
  for (const id of extensions) {
    const key = `extensions:${String(id)}`;
    if (!defined.has(key)) problems.push(`service.extensions: "${String(id)}" is not defined under extensions`);
    used.add(key);
  }
}

function checkPipeline(
  id: string,
  pipeline: unknown,
  defined: Map<string, Defined>,
  used: Set<string>,
  connectorUses: Map<string, ConnectorUse[]>,
  problems: string[],
): void {
  const path = `service.pipelines.${id}`;
  const signal = SIGNALS.find((s) => id === s || id.startsWith(`${s}/`));
  if (!signal) {
    problems.push(`${path}: a pipeline id starts with its signal (${SIGNALS.join(', ')}), then optionally /name`);
    return;
  }
  if (!isMap(pipeline)) {
    problems.push(`${path}: expected a map with receivers, processors and exporters`);
    return;
  }
  for (const key of Object.keys(pipeline)) {
    if (!PIPELINE_KEYS.includes(key)) problems.push(unknownKey(path, key, PIPELINE_KEYS));
  }
  const list = (key: string): string[] => {
    const value = pipeline[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      problems.push(`${path}.${key}: expected a list of component ids`);
      return [];
    }
    const ids = value.map(String);
    const repeated = ids.filter((ref, i) => ids.indexOf(ref) !== i);
    for (const ref of new Set(repeated)) problems.push(`${path}.${key}: "${ref}" is listed more than once`);
    return ids;
  };
  const receivers = list('receivers');
  const processors = list('processors');
  const exporters = list('exporters');
  if (receivers.length === 0) problems.push(`${path}: no receivers`);
  if (exporters.length === 0) problems.push(`${path}: no exporters`);

  const resolve = (ref: string, role: 'receiver' | 'processor' | 'exporter'): void => {
    const sections = role === 'processor' ? ['processors'] : [`${role}s`, 'connectors'];
    const section = sections.find((s) => defined.has(`${s}:${ref}`));
    if (!section) {
      problems.push(`${path}: ${role} "${ref}" is not defined under ${sections.join(' or ')}`);
      return;
    }
    const component = defined.get(`${section}:${ref}`)!;
    used.add(`${section}:${ref}`);
    if (component.kind === 'connector') {
      const uses = connectorUses.get(ref) ?? [];
      uses.push({ as: role === 'receiver' ? 'receiver' : 'exporter', signal });
      connectorUses.set(ref, uses);
      return;
    }
    const signals = findComponent(component.kind, component.type)?.signals;
    if (signals && !signals.includes(signal)) {
      problems.push(`${path}: ${role} "${ref}" does not support ${signal} (only ${signals.join(', ')})`);
    }
  };
  receivers.forEach((ref) => resolve(ref, 'receiver'));
  processors.forEach((ref) => resolve(ref, 'processor'));
  exporters.forEach((ref) => resolve(ref, 'exporter'));

  checkProcessorOrder(path, processors, problems);
}

/**
 * memory_limiter first: it must refuse data before any other processor allocates for it.
 * batch last: processors after it would split the batches it built.
 */
function checkProcessorOrder(path: string, processors: readonly string[], problems: string[]): void {
  const typeOf = (ref: string | undefined) => ref?.split('/', 1)[0];
  if (typeOf(processors[0]) !== 'memory_limiter') {
    problems.push(`${path}: memory_limiter must be the first processor (found ${processors[0] ? `"${processors[0]}"` : 'no processors'})`);
  }
  if (typeOf(processors[processors.length - 1]) !== 'batch') {
    const last = processors[processors.length - 1];
    problems.push(`${path}: batch must be the last processor (found ${last ? `"${last}"` : 'no processors'})`);
  }
}

/**
 * A connector is the exporter of one pipeline and the receiver of another, between signals
 * it supports: used on one side only, it would accept data that goes nowhere (the Collector
 * refuses to start).
 */
function checkConnectorsJoinPipelines(defined: Map<string, Defined>, uses: Map<string, ConnectorUse[]>, problems: string[]): void {
  for (const component of defined.values()) {
    if (component.kind !== 'connector') continue;
    const connects = findComponent('connector', component.type)?.connects;
    const mine = uses.get(component.id) ?? [];
    const asExporter = mine.filter((u) => u.as === 'exporter');
    const asReceiver = mine.filter((u) => u.as === 'receiver');
    const path = `connectors.${component.id}`;
    if (asExporter.length === 0) problems.push(`${path}: used as a receiver but as no pipeline's exporter`);
    if (asReceiver.length === 0) problems.push(`${path}: used as an exporter but as no pipeline's receiver`);
    if (!connects || asExporter.length === 0 || asReceiver.length === 0) continue;
    for (const from of asExporter) {
      if (!asReceiver.some((to) => connects.some(([a, b]) => a === from.signal && b === to.signal))) {
        problems.push(`${path}: exported to from a ${from.signal} pipeline, but no pipeline receives from it as a signal it can produce from ${from.signal}`);
      }
    }
    for (const to of asReceiver) {
      if (!asExporter.some((from) => connects.some(([a, b]) => a === from.signal && b === to.signal))) {
        problems.push(`${path}: received from in a ${to.signal} pipeline, but no pipeline feeds it a signal it turns into ${to.signal}`);
      }
    }
  }
}

function unknownKey(path: string, key: string, known: readonly string[]): string {
  const hint = suggest(key, known);
  const where = path ? `${path}.${key}` : key;
  return `${where}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; accepted here: ${known.length ? known.join(', ') : 'none'}`;
}

function isMap(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
