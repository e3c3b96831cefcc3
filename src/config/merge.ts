import type { ClassificationRule } from '../classify/rule-types.js';
import type { RedisEndpoint } from '../fleet/redis-url.js';
import { BUILT_IN_DEFAULTS } from './defaults.js';
import { FIELDS, FITTED_DEFAULTS, ORDERED_PAIRS, SECTION_OFF, SHOWN_AS_FALSE } from './fields.js';
import { resolveFleet } from './fleet.js';
import { isLoopbackHost } from './hosts.js';
import type { EffectiveConfig, ResolvedPolicy } from './types.js';

/**
 * Precedence, lowest first (docs/configuration.md, "Precedence"):
 *
 *   built-in defaults < file `defaults` < environment < file target policy
 *
 * The variables set the defaults every policy inherits (a deployment chart's baseline);
 * what a target's policy in the file says about that target wins over them. With the
 * environment on top, BREAKWATER_RETRY_MAX_ATTEMPTS=3 turned a target's `retry: false`
 * into three attempts: a baseline silently defeated a policy written for one dependency.
 */
export const RANK = { builtin: 0, fileDefaults: 1, env: 2, fileTarget: 3 } as const;
export type Rank = (typeof RANK)[keyof typeof RANK];

/** One value with its provenance, so a conflict between two layers can name both. */
export interface Entry {
  readonly value: unknown;
  readonly rank: Rank;
  /** Where it was set, for citing: `BREAKWATER_RETRY_MAX_DELAY_MS`, `/etc/bw.yaml:4: defaults.retry.maxDelayMs`. */
  readonly from: string;
  /** How a problem with this value starts: `BREAKWATER_RETRY_MAX_DELAY_MS="50"`. */
  readonly blame: string;
}

/** The values one source sets, by field key; `invalid` holds keys it set to a rejected value. */
export class Layer {
  readonly values = new Map<string, Entry>();
  readonly invalid = new Set<string>();
}

export interface TargetLayer {
  readonly match: string;
  /** `targets[1] (match "https://api.example.com:*")`, for messages. */
  readonly label: string;
  /** Where its `match` is written (`/etc/bw.yaml:7: targets[1].match`): the origin of an unnamed policy's name. */
  readonly matchFrom: string;
  readonly layer: Layer;
}

export interface Layers {
  readonly env: Layer;
  readonly fileTop?: Layer;
  readonly fileDefaults?: Layer;
  readonly targets: readonly TargetLayer[];
  readonly rules: readonly ClassificationRule[];
  /** Whether BREAKWATER_STATUS_TOKEN is set (its value never enters the configuration). */
  readonly statusToken?: boolean;
  /** OTEL_SERVICE_NAME: the fleet's service name when nothing of breakwater's sets one. */
  readonly otelServiceName?: string;
}

/** The origin of a value nothing set. */
export const BUILT_IN = 'default';

export function builtinLayer(): Layer {
  const layer = new Layer();
  for (const field of FIELDS) {
    const root: unknown = field.scope === 'top' ? BUILT_IN_DEFAULTS : BUILT_IN_DEFAULTS.policy;
    const value = field.key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], root);
    if (value !== undefined) layer.values.set(field.key, { value, rank: RANK.builtin, from: BUILT_IN, blame: `built-in ${field.key}` });
  }
  return layer;
}

export interface Resolved {
  readonly config: Omit<EffectiveConfig, 'sources'>;
  /** The fleet's Redis, credentials included: kept out of the (printable) configuration. */
  readonly fleetEndpoint: RedisEndpoint | undefined;
}

/** Layers the sources and checks what no single value can show (base delay above max delay). */
export function resolve(layers: Layers, problems: string[]): Resolved {
  const builtin = builtinLayer();
  const top = merge([builtin, layers.fileTop, layers.env]);
  checkStatusExposure(top, layers.statusToken === true, problems);
  const reported = new Set<string>();
  const defaults = resolvePolicy([builtin, layers.fileDefaults, layers.env], undefined, reported, problems);
  const resolvedTargets = layers.targets.map(({ match, label, matchFrom, layer }) => {
    // A target's policy is named by its own `name`, never the default's: unnamed, it takes its pattern.
    const named = new Layer();
    named.values.set('name', { value: match, rank: RANK.fileTarget, from: matchFrom, blame: label });
    return { match, ...resolvePolicy([builtin, layers.fileDefaults, layers.env, named, layer], label, reported, problems) };
  });
  const fleet = resolveFleet(top, [defaults, ...resolvedTargets], layers.otelServiceName, problems);
  const topOrigins = originsOf(top, 'top');
  if (fleet.serviceOrigin !== undefined) topOrigins['fleet.service'] = fleet.serviceOrigin;
  return { config: {
    enabled: top.values.get('enabled')!.value as boolean,
    instrumentations: copy(top.values.get('instrumentations')!.value) as EffectiveConfig['instrumentations'],
    maxTargets: top.values.get('maxTargets')!.value as number,
    maxTargetStates: top.values.get('maxTargetStates')!.value as number,
    targetIdleMs: top.values.get('targetIdleMs')!.value as number,
    shutdownTimeoutMs: top.values.get('shutdownTimeoutMs')!.value as number,
    statusPort: top.values.get('statusPort')!.value as number,
    statusHost: top.values.get('statusHost')!.value as string,
    statusAllowedHosts: copy(top.values.get('statusAllowedHosts')!.value) as string[],
    callSpans: top.values.get('callSpans')!.value as boolean,
    redisDurationMetric: top.values.get('redisDurationMetric')!.value as boolean,
    patterns: top.values.get('patterns')!.value as boolean,
    patternsTimeScale: top.values.get('patternsTimeScale')!.value as number,
    fleet: fleet.fleet,
    defaults: defaults.policy,
    targets: resolvedTargets.map(({ match, policy }) => ({ match, policy })),
    rules: [...layers.rules],
    origins: {
      top: topOrigins,
      defaults: defaults.origins,
      targets: resolvedTargets.map(({ origins }) => origins),
    },
  }, fleetEndpoint: fleet.endpoint };
}

/** Where each value of a layer came from, by field key, in FIELDS order. */
function originsOf(merged: Layer, scope: 'top' | 'policy'): Record<string, string> {
  const origins: Record<string, string> = {};
  for (const field of FIELDS) {
    const entry = merged.values.get(field.key);
    if (field.scope === scope && entry !== undefined) origins[field.key] = entry.from;
  }
  return origins;
}

/**
 * A status endpoint bound beyond loopback without a token would serve every target key
 * and its stats (and, with a token, isolate/reset) to the network: refused at start-up.
 */
function checkStatusExposure(top: Layer, token: boolean, problems: string[]): void {
  const port = top.values.get('statusPort')!;
  const host = top.values.get('statusHost')!;
  if (token || port.value === 0 || top.invalid.has('statusHost') || isLoopbackHost(host.value as string)) return;
  problems.push(
    `${host.blame} is not accepted without ${STATUS_TOKEN}: the status endpoint would show every target key and its stats beyond this machine. ` +
      `Set ${STATUS_TOKEN} (every request then needs it) or bind a loopback address such as 127.0.0.1`,
  );
}

const STATUS_TOKEN = 'BREAKWATER_STATUS_TOKEN';

function merge(layers: ReadonlyArray<Layer | undefined>): Layer {
  const out = new Layer();
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [key, entry] of layer.values) out.values.set(key, entry);
    for (const key of layer.invalid) out.invalid.add(key);
  }
  return out;
}

function resolvePolicy(
  layers: ReadonlyArray<Layer | undefined>,
  label: string | undefined,
  reported: Set<string>,
  problems: string[],
): { policy: ResolvedPolicy; origins: Record<string, string>; fleet: Entry } {
  const merged = merge(layers);
  const fitted = fitDefaults(merged);
  // A value is called wrong once: min 5, initial 3, max 2 blames max for min, not again for initial.
  const blamedHere = new Set<Entry>();
  for (const [lowKey, highKey] of ORDERED_PAIRS) {
    // A pair with a rejected side is not judged: its problem is already reported, and
    // the value standing in for it (a default) would only add a confusing second one.
    // Nor is one with a fitted side: it fits unless its bounds conflict, a pair of their own.
    if (merged.invalid.has(lowKey) || merged.invalid.has(highKey) || fitted.has(lowKey) || fitted.has(highKey)) continue;
    const low = merged.values.get(lowKey)!;
    const high = merged.values.get(highKey)!;
    if ((low.value as number) <= (high.value as number)) continue;
    const blameHigh = high.rank >= low.rank;
    const [blamed, other, relation, otherKey] = blameHigh ? [high, low, 'at least', lowKey] : [low, high, 'at most', highKey];
    if (blamedHere.has(blamed)) continue;
    blamedHere.add(blamed);
    const key = `${low.from}\u0000${high.from}`;
    if (reported.has(key)) continue; // the same two values, seen again in another target's policy
    reported.add(key);
    const where = label !== undefined && blamed.rank !== RANK.fileTarget ? ` in the policy for ${label}` : '';
    problems.push(`${blamed.blame} is not accepted${where}: must be ${relation} ${otherKey}, which is ${String(other.value)} (${other.from})`);
  }

  const policy: Record<string, unknown> = {};
  for (const field of FIELDS) {
    if (field.scope !== 'policy') continue;
    const entry = merged.values.get(field.key);
    if (entry === undefined) continue;
    const parts = field.key.split('.');
    let node = policy;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = copy(entry.value);
  }
  for (const section of SHOWN_AS_FALSE) {
    if (SECTION_OFF[section]!.every(([key, off]) => merged.values.get(key)!.value === off)) policy[section] = false;
  }
  // Every field is set (the built-in layer has them all), and switched-off sections are `false`.
  return { policy: policy as unknown as ResolvedPolicy, origins: originsOf(merged, 'policy'), fleet: merged.values.get('fleet')! };
}

/**
 * Moves the built-in values of FITTED_DEFAULTS within the bounds the other layers set
 * (ORDERED_PAIRS), in place; returns the keys it moved. Their origin names the bound.
 */
function fitDefaults(merged: Layer): Set<string> {
  const moved = new Set<string>();
  for (const key of FITTED_DEFAULTS) {
    const entry = merged.values.get(key)!;
    if (entry.rank !== RANK.builtin) continue;
    const valueOf = (other: string): number => merged.values.get(other)!.value as number;
    let value = entry.value as number;
    let bound: string | undefined;
    for (const [low, high] of ORDERED_PAIRS) {
      if (high === key && valueOf(low) > value) [value, bound] = [valueOf(low), low];
    }
    for (const [low, high] of ORDERED_PAIRS) {
      if (low === key && valueOf(high) < value) [value, bound] = [valueOf(high), high];
    }
    if (bound === undefined) continue;
    merged.values.set(key, { ...entry, value, from: `${BUILT_IN}, fitted to ${bound}` });
    moved.add(key);
  }
  return moved;
}

/** Values are scalars or lists of strings; lists are copied so no two policies share one. */
function copy(value: unknown): unknown {
  return Array.isArray(value) ? [...value] : value;
}
