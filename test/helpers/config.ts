import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import type { EffectiveConfig } from '../../src/config/index.js';

/** The path a test's configuration file is read from (its text never touches the disk). */
export const FILE = '/etc/bw.yaml';

/** Loads with this file text (none when undefined) and only these variables. */
export function load(text: string | undefined, env: Record<string, string> = {}): EffectiveConfig {
  return loadConfig(text === undefined ? env : { BREAKWATER_CONFIG: FILE, ...env }, { readFile: () => text ?? '' });
}

/** The problems loading reports; fails the test when it loads. */
export function problemsOf(text: string | undefined, env: Record<string, string> = {}): string[] {
  try {
    load(text, env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  expect.fail('expected a ConfigError');
}
