import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { ConfigError, fleetEndpoint, loadConfig } from './config/index.js';
import { fleetStatus, probeConnection } from './fleet/status.js';

export const USAGE = `Usage: breakwater <command> [options]

Commands:
  config [--format json|yaml]  Print the effective configuration (built-in defaults,
                               the BREAKWATER_CONFIG file, BREAKWATER_* variables),
                               validated. Exits 1, listing every problem, if invalid.
  fleet [--format json|yaml]   Connect to fleet mode's Redis and print fleet mode's
                               state: the Redis (never its credentials), the service,
                               the policies in fleet mode, whether it answers, and
                               the service's breakers as the fleet holds them.
                               Exits 3 if it does not answer within 3 s.
  help                         Print this help.

Options:
  -h, --help                   Print this help.

See docs/configuration.md for every variable and the file format.
`;

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: CliIo = {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** How long `fleet` waits for Redis to answer. */
const FLEET_PROBE_MS = 3000;

/**
 * Runs the CLI and returns the exit code: 0 done, 1 invalid configuration, 2 bad usage,
 * 3 fleet mode's Redis unreachable (`fleet`). Messages are printed without stack traces:
 * the reader is an operator, not a debugger.
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { help: { type: 'boolean', short: 'h' }, format: { type: 'string' } },
    });
  } catch (error) {
    io.stderr(`breakwater: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help === true || command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if ((command !== 'config' && command !== 'fleet') || rest.length > 0) {
    const reason = command === undefined ? 'no command given' : `unknown command: ${[command, ...rest].join(' ')}`;
    io.stderr(`breakwater: ${reason}\n\n${USAGE}`);
    return 2;
  }
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'yaml') {
    io.stderr(`breakwater: --format ${JSON.stringify(format)} is not accepted: expected json or yaml\n\n${USAGE}`);
    return 2;
  }

  const print = (value: unknown): void => io.stdout(format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value));
  try {
    const config = loadConfig(io.env);
    if (command === 'config') {
      print(config);
      return 0;
    }
    const endpoint = fleetEndpoint(config);
    if (config.fleet === false || endpoint === undefined) {
      print({ fleet: false });
      return 0;
    }
    const status = fleetStatus(config.fleet, await probeConnection(endpoint, FLEET_PROBE_MS, config.fleet.redisCluster, config.fleet.service));
    print({ fleet: status });
    return status.connection === 'up' ? 0 : 3;
  } catch (error) {
    if (error instanceof ConfigError) {
      const count = error.problems.length === 1 ? '1 problem' : `${error.problems.length} problems`;
      io.stderr(`breakwater: invalid configuration (${count}):\n${error.problems.map((p) => `  - ${p}\n`).join('')}`);
    } else {
      io.stderr(`breakwater: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    return 1;
  }
}

/** Entry point for bin/breakwater.cjs. Sets the exit code rather than exiting, so piped output is flushed. */
export function run(): void {
  // `breakwater config | head` closes the pipe early: that is the reader's choice, not a crash.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
