// An application that brings its own OpenTelemetry set-up (a NodeSDK with the
// auto-instrumentations: test/fixtures/existing-otel/otel.mjs, otel.cjs), laid out in a
// directory of its own, for the tests that run breakwater/register beside it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compatDir, compatInstallHint } from '../compat/modules.js';
import { REPO_ROOT } from './child.js';

export type SdkSet = 'otel-sdk2' | 'otel-sdk3';

/** SDK 3 (sdk-node 0.30x, auto-instrumentations 0.82) declares `engines: node >= 22.15`: its cases exist only where Node can run it. */
export const SDK3_RUNS_HERE = (() => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 15);
})();

/**
 * An application directory as npm would lay it out: the fixture files (and `extra`
 * files, repository paths), and a node_modules holding the SDK packages of the
 * compatibility set (whose import-in-the-middle is the project's, as npm dedupes it)
 * and the project's pg, ioredis and redis. The caller removes it.
 */
export function appDir(set: SdkSet, extra: readonly string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `breakwater-existing-otel-${set}-`));
  const fixtures = path.join(REPO_ROOT, 'test', 'fixtures', 'existing-otel');
  for (const file of fs.readdirSync(fixtures)) fs.copyFileSync(path.join(fixtures, file), path.join(dir, file));
  for (const file of extra) fs.copyFileSync(path.join(REPO_ROOT, file), path.join(dir, path.basename(file)));
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  const setModules = path.join(compatDir(set), 'node_modules');
  if (!fs.existsSync(path.join(setModules, '@opentelemetry', 'sdk-node'))) {
    throw new Error(compatInstallHint(set));
  }
  fs.symlinkSync(path.join(setModules, '@opentelemetry'), path.join(modules, '@opentelemetry'));
  for (const client of ['pg', 'ioredis', 'redis']) fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', client), path.join(modules, client));
  return dir;
}
