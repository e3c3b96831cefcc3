import { formatValue } from './errors.js';
import { FIELDS, SECRET_NOT_SHOWN, describeField, parseEnvValue } from './fields.js';
import type { Field } from './fields.js';
import { Layer, RANK } from './merge.js';
import { suggest } from './suggest.js';

/** Names the configuration file; not a field of the configuration itself. */
export const CONFIG_VARIABLE = 'BREAKWATER_CONFIG';
/**
 * The status endpoint's bearer token. Known, so it is not reported as a misspelling, but
 * never read into the configuration: the configuration is printed, a secret must not be.
 */
export const STATUS_TOKEN_VARIABLE = 'BREAKWATER_STATUS_TOKEN';

const FIELD_BY_VARIABLE: ReadonlyMap<string, Field> = new Map(
  FIELDS.filter((f) => f.env !== undefined).map((f) => [f.env!, f]),
);

/** Every BREAKWATER_* variable breakwater reads, sorted. */
export const ENV_VARIABLES: readonly string[] = [...FIELD_BY_VARIABLE.keys(), CONFIG_VARIABLE, STATUS_TOKEN_VARIABLE].sort();

/** The namespace is checked case-insensitively, so `breakwater_enabled` is caught as a typo too. */
const PREFIX = /^BREAKWATER_/i;

export interface EnvSettings {
  readonly layer: Layer;
  /** BREAKWATER_CONFIG as given, when set. */
  readonly configPath?: string;
  /** The recognised variables that were set, sorted. */
  readonly names: string[];
}

/**
 * Reads the BREAKWATER_* variables. Other variables are never read, so none of their
 * values can end up in a message. An empty value counts as unset (as the OpenTelemetry
 * specification has it for OTEL_* variables); an unknown BREAKWATER_* name is a problem
 * even when empty, since it is most likely a misspelt one that was meant to take effect.
 */
export function readEnv(env: NodeJS.ProcessEnv, problems: string[]): EnvSettings {
  const layer = new Layer();
  const names: string[] = [];
  let configPath: string | undefined;
  let listed = false;
  for (const name of Object.keys(env).sort()) {
    if (!PREFIX.test(name)) continue;
    const raw = env[name];
    const known = name === CONFIG_VARIABLE || name === STATUS_TOKEN_VARIABLE || FIELD_BY_VARIABLE.has(name);
    if (!known) {
      problems.push(unknownVariable(name, listed));
      listed = true;
      continue;
    }
    if (raw === undefined || raw.trim() === '') continue;
    names.push(name);
    if (name === STATUS_TOKEN_VARIABLE) continue;
    if (name === CONFIG_VARIABLE) {
      configPath = raw.trim();
      continue;
    }
    const field = FIELD_BY_VARIABLE.get(name)!;
    const checked = parseEnvValue(field, raw);
    // A secret (a URL with a password) is named, never quoted.
    const blame = field.secret === true ? name : `${name}=${formatValue(raw)}`;
    if (checked.ok) {
      layer.values.set(field.key, { value: checked.value, rank: RANK.env, from: name, blame });
    } else {
      layer.invalid.add(field.key);
      const hint = checked.hint === undefined ? '' : ` (${checked.hint})`;
      const shown = field.secret === true ? ` ${SECRET_NOT_SHOWN}` : '';
      problems.push(`${blame} is not accepted${shown}: expected ${describeField(field, 'env')}${hint}`);
    }
  }
  return configPath === undefined ? { layer, names } : { layer, names, configPath };
}

/** The list of known variables is long: it is given once, with the first unknown one. */
function unknownVariable(name: string, listed: boolean): string {
  const near = suggest(name, ENV_VARIABLES);
  const hint = near === undefined ? '' : ` (did you mean ${near}?)`;
  const known = listed ? 'see the known ones listed above' : `the known ones are ${ENV_VARIABLES.join(', ')}`;
  return `${name} is not a breakwater variable${hint}; ${known}`;
}
