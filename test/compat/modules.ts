import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/child.js';

/**
 * Other majors of the supported clients, each in its own folder with its own lockfile
 * (test/compat/older, test/compat/newer), and the OpenTelemetry SDK lines an application may bring (test/compat/otel-sdk2, otel-sdk3), installed by scripts/test.sh. They sit under
 * their real package names, so the adapters' module hooks see them as an application would.
 */
export type CompatSet = 'older' | 'newer' | 'otel-sdk2' | 'otel-sdk3';

/**
 * Where a set is installed: its package.json and lockfile are kept in test/compat/<set>,
 * and scripts/test.sh installs them under node_modules/.breakwater-compat/<set>, with the
 * project's other third-party code (module resolution from there still reaches the
 * project's node_modules, as from test/compat/<set>).
 */
export function compatDir(set: CompatSet): string {
  return path.join(REPO_ROOT, 'node_modules', '.breakwater-compat', set);
}

/** What installs a set, for the error when it is missing. */
export function compatInstallHint(set: CompatSet): string {
  return `test/compat/${set} is not installed: run \`bash scripts/test.sh\`, or copy test/compat/${set}/package*.json to node_modules/.breakwater-compat/${set}/ and run \`npm ci --prefix node_modules/.breakwater-compat/${set}\``;
}

/** Requires `name` from the given set, failing with the command that installs it. */
export function requireCompat<T = unknown>(set: CompatSet, name: string): T {
  const dir = compatDir(set);
  if (!existsSync(path.join(dir, 'node_modules', name))) {
    throw new Error(`${name}: ${compatInstallHint(set)}`);
  }
  return createRequire(path.join(dir, 'package.json'))(name) as T;
}

/** The installed version of `name` in the given set. */
export function compatVersion(set: CompatSet, name: string): string {
  return requireCompat<{ version: string }>(set, `${name}/package.json`).version;
}

/**
 * Whether the Redis clients' older majors (ioredis 5, node-redis 4) run beside the
 * project's own. scripts/test.sh runs them on the newest Node only
 * (TEST_OLDER_REDIS_MAJORS=0 on the others): what they add is the client's API, which
 * the Node version does not change, and on every Node they were the slowest part of the
 * suite. Run by hand, the suite includes them.
 */
export function olderRedisMajors(): boolean {
  return process.env.TEST_OLDER_REDIS_MAJORS !== '0';
}
