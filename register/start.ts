import { isMainThread } from 'node:worker_threads';
import { ADAPTERS } from '../instrumentations/index.js';
import type { Adapter } from '../instrumentations/index.js';
import { ConfigError, loadConfig, STATUS_TOKEN_VARIABLE } from '../src/config/index.js';
import type { EffectiveConfig } from '../src/config/index.js';
import { currentRuntime, installRuntime } from '../src/runtime/global.js';
import { Runtime } from '../src/runtime/runtime.js';
import { hookEsmImports } from './esm-hook.js';
import { flushRegisteredProviders, startSdkUnlessRegistered } from './sdk.js';
import type { StartedSdk } from './sdk.js';
import { installShutdownHooks, lossReport } from './shutdown.js';
import { startStatusServer } from './status-server.js';

export interface Started {
  readonly runtime: Runtime;
  readonly adapters: readonly Adapter[];
}

/**
 * Reads the configuration, enables the configured adapters and arranges for telemetry:
 * what `breakwater/register` does. A bad configuration ends the process with the
 * messages (exit status 1) before the application runs. Idempotent: a second call
 * (both --require and --import given) does nothing.
 */
export function start(env: NodeJS.ProcessEnv = process.env): Started | undefined {
  const existing = currentRuntime();
  if (existing !== undefined) return undefined;
  let config: EffectiveConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`breakwater: not started, the configuration is invalid:\n${error.message}\n`);
    process.exit(1);
  }
  if (!config.enabled) return undefined;

  let sdk: StartedSdk | undefined;
  const runtime = new Runtime(config, {
    // At the first instrumented call, not now: an application that sets up its own
    // OpenTelemetry SDK at start-up must find the global providers still free.
    beforeFirstCall: () => {
      sdk = startSdkUnlessRegistered(env, config.shutdownTimeoutMs);
    },
  });
  installRuntime(runtime);
  hookEsmImports();
  const adapters = config.instrumentations.map((name) => ADAPTERS[name](runtime));
  for (const adapter of adapters) adapter.enable();

  installShutdownHooks(
    {
      // Ours is shut down; the application's providers are only flushed, never shut down.
      // The fleet's Redis connection is closed beside it (it never held the process up).
      finish: async () => {
        await Promise.all([runtime.close(), sdk === undefined ? flushRegisteredProviders() : sdk.shutdown()]);
      },
      get stopExports() {
        const exportTimeoutMs = sdk?.exportTimeoutMs;
        return exportTimeoutMs === undefined ? undefined : { beforeDeadlineMs: exportTimeoutMs, stop: () => sdk?.stopExports() };
      },
      lossReport: (inTime) => lossReport({ ours: sdk !== undefined, unsent: sdk?.unsent(), inTime, timeoutMs: config.shutdownTimeoutMs }),
    },
    config.shutdownTimeoutMs,
  );
  // One endpoint per process: Node 20 also runs --require modules inside the ESM loader
  // hooks' worker thread, whose copy must not take the port (nor would it know a breaker).
  if (config.statusPort > 0 && isMainThread) {
    const token = env[STATUS_TOKEN_VARIABLE]?.trim() || undefined;
    startStatusServer(runtime, { port: config.statusPort, host: config.statusHost, token, allowedHosts: config.statusAllowedHosts }).catch((error: unknown) => {
      // A status endpoint asked for and not there is a failed start, like a bad
      // configuration: for an IP address the bind fails on the next tick, before the
      // application's first I/O.
      const reason = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is already in use' : (error as Error).message;
      process.stderr.write(`breakwater: not started, the status endpoint could not listen on ${config.statusHost}:${config.statusPort} (BREAKWATER_STATUS_HOST, BREAKWATER_STATUS_PORT): ${reason}\n`);
      process.exit(1);
    });
  }
  return { runtime, adapters };
}
