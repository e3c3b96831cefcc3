import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { resilientFetch } from './fetch-call.js';
import { subscribeToUndici } from './diagnostics.js';
import { UndiciResilienceInstrumentation } from './instrumentation.js';

type GlobalFetch = typeof globalThis.fetch;

/**
 * The fetch adapter (design.md: client `fetch`): Node's global fetch, and the `undici`
 * package's `request`, `fetch` and `Dispatcher#request`. Both are undici underneath and
 * share one client name, so their telemetry and breakers meet on one target key.
 */
export function createFetchAdapter(runtime: Runtime): Adapter {
  const instrumentation = new UndiciResilienceInstrumentation(runtime);
  let originalFetch: GlobalFetch | undefined;
  let installedFetch: GlobalFetch | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    client: 'fetch',
    enable() {
      unsubscribe ??= subscribeToUndici();
      if (installedFetch === undefined && typeof globalThis.fetch === 'function') {
        originalFetch = globalThis.fetch;
        installedFetch = resilientFetch(runtime, originalFetch as never) as unknown as GlobalFetch;
        globalThis.fetch = installedFetch;
      }
      instrumentation.enable();
    },
    disable() {
      unsubscribe?.();
      unsubscribe = undefined;
      instrumentation.disable();
      // Someone who replaced fetch after us keeps theirs (and calls ours through it).
      if (installedFetch !== undefined && globalThis.fetch === installedFetch) globalThis.fetch = originalFetch!;
      installedFetch = undefined;
      originalFetch = undefined;
    },
  };
}
