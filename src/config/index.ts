import { compileGlob } from '../util/glob.js';
import { deepFreeze } from './defaults.js';
import { ConfigError } from './errors.js';
import { readEnv, STATUS_TOKEN_VARIABLE } from './env.js';
import { OTEL_SERVICE_VARIABLE, rememberEndpoint } from './fleet.js';
import { readConfigFile } from './file.js';
import { resolve } from './merge.js';
import { readConfigText } from './read-file.js';
import type { EffectiveConfig, LoadConfigOptions, ResolvedPolicy } from './types.js';
import { validateFile } from './validate.js';
import type { FileSettings } from './validate.js';

export { ConfigError } from './errors.js';
export { BUILT_IN_DEFAULTS } from './defaults.js';
export { ENV_VARIABLES, CONFIG_VARIABLE, STATUS_TOKEN_VARIABLE } from './env.js';
export { INSTRUMENTATIONS, MAX_TIMER_MS } from './fields.js';
export { fleetEndpoint } from './fleet.js';
export type {
  ConcurrencyLimitMode,
  EffectiveConfig,
  Instrumentation,
  LoadConfigOptions,
  ResolvedBreaker,
  ResolvedBulkhead,
  ResolvedConcurrencyLimit,
  ResolvedFleet,
  ResolvedHedge,
  ResolvedPolicy,
  ResolvedRateLimit,
  ResolvedRetry,
} from './types.js';

/**
 * The effective configuration: built-in defaults, then the file named by
 * BREAKWATER_CONFIG, then the BREAKWATER_* variables (docs/configuration.md). Throws a
 * ConfigError listing every problem found; never returns a partly valid configuration.
 * The result is deeply frozen.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): EffectiveConfig {
  const problems: string[] = [];
  const fromEnv = readEnv(env, problems);
  let file: FileSettings | undefined;
  let absolute: string | undefined;
  if (fromEnv.configPath !== undefined) {
    const readFile = options.readFile ?? readConfigText;
    const parsed = readConfigFile(fromEnv.configPath, readFile, problems);
    if (parsed !== undefined) {
      absolute = parsed.absolute;
      file = validateFile(parsed, problems);
    }
  }
  const resolved = resolve(
    {
      env: fromEnv.layer,
      ...(file === undefined ? {} : { fileTop: file.top, fileDefaults: file.defaults }),
      targets: file?.targets ?? [],
      rules: file?.rules ?? [],
      statusToken: (env[STATUS_TOKEN_VARIABLE]?.trim() ?? '') !== '',
      otelServiceName: env[OTEL_SERVICE_VARIABLE],
    },
    problems,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  const sources: EffectiveConfig['sources'] = absolute === undefined ? { env: fromEnv.names } : { file: absolute, env: fromEnv.names };
  const config = deepFreeze({ ...resolved.config, sources });
  rememberEndpoint(config, resolved.fleetEndpoint);
  return config;
}

const compiledTargets = new WeakMap<EffectiveConfig, RegExp[]>();

/** The policy for a target key: the first target whose glob matches it, else the defaults. */
export function policyForTarget(config: EffectiveConfig, target: string): ResolvedPolicy {
  let globs = compiledTargets.get(config);
  if (globs === undefined) {
    globs = config.targets.map((t) => compileGlob(t.match));
    compiledTargets.set(config, globs);
  }
  for (let i = 0; i < globs.length; i++) {
    if (globs[i]!.test(target)) return config.targets[i]!.policy;
  }
  return config.defaults;
}
