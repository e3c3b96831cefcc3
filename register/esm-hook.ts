import { register as registerLoader } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { PROBE_ANSWER } from './loader-probe.js';

/** Modules breakwater's adapters hook when they are imported (not required). */
export const ESM_HOOKED_MODULES = ['pg', 'pg-pool', 'ioredis', 'redis', '@redis/client', 'undici'] as const;

/** What hookEsmImports did, for the caller and the tests. */
export type EsmHookOutcome = 'joined-existing' | 'registered' | 'not-main-thread' | 'failed';

interface AddHookChannel {
  registerOptions: { data: Record<string, unknown>; transferList: unknown[] };
}

/**
 * ESM applications import the clients through Node's ESM loader, which
 * require-in-the-middle does not see; import-in-the-middle's loader lets
 * @opentelemetry/instrumentation patch them there too. One loader per process:
 *
 * - An application that set up OpenTelemetry before us (`--import ./otel.mjs` ahead of
 *   breakwater/register) registered it already. A second registration would make
 *   import-in-the-middle warn and replace that loader's options with ours, so we add
 *   none: our hooks are served by the application's loader.
 * - Otherwise we register it, limited to our client modules, with
 *   import-in-the-middle's add-hook channel: every hook created later through the
 *   same copy (the application's OpenTelemetry instrumentations: node:http for its
 *   SERVER spans...) extends that list. An application that registers the loader after
 *   us reaches this same loader, whose list already includes what it needs;
 *   import-in-the-middle still warns that it was initialized twice.
 */
export function hookEsmImports(): EsmHookOutcome {
  // Loader hooks are process-wide: Node 20 also runs --require/--import modules
  // inside the hooks' own worker, which must not register them again.
  if (!isMainThread) return 'not-main-thread';
  try {
    if (importInTheMiddleRegistered()) return 'joined-existing';
    const channel = addHookChannel();
    channel.registerOptions.data.include = [...ESM_HOOKED_MODULES];
    registerLoader('@opentelemetry/instrumentation/hook.mjs', pathToFileURL(__filename), channel.registerOptions as never);
    return 'registered';
  } catch (error) {
    process.stderr.write(`breakwater: ESM imports of ${ESM_HOOKED_MODULES.join(', ')} will not be instrumented: ${(error as Error).message}\n`);
    return 'failed';
  }
}

/** Asks Node's hooks thread whether an import-in-the-middle loader is registered there. */
function importInTheMiddleRegistered(): boolean {
  const answer = new SharedArrayBuffer(4);
  // register() returns once the probe's initialize has run in the hooks thread.
  registerLoader(pathToFileURL(path.join(__dirname, 'loader-probe.js')), { data: { answer } } as never);
  return Atomics.load(new Int32Array(answer), 0) === PROBE_ANSWER.registered;
}

/**
 * import-in-the-middle's channel, from the copy @opentelemetry/instrumentation uses:
 * hooks created through another copy would not reach it.
 */
function addHookChannel(): AddHookChannel {
  const instrumentationDir = path.dirname(require.resolve('@opentelemetry/instrumentation/package.json'));
  const iitm = require(require.resolve('import-in-the-middle', { paths: [instrumentationDir] })) as { createAddHookMessageChannel(): AddHookChannel };
  return iitm.createAddHookMessageChannel();
}
