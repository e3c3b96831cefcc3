import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import type { ClientRequest } from 'node:http';
import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { interceptRequest, type PatchedModule } from './intercept.js';
import type { RequestFunction } from './resilient-request.js';

type HttpModule = { request: RequestFunction; get: RequestFunction };

interface Patched {
  readonly module: HttpModule;
  readonly originalRequest: RequestFunction;
  readonly originalGet: RequestFunction;
  readonly request: RequestFunction;
  readonly get: RequestFunction;
}

/**
 * Patches `request` and `get` of node:http and node:https on the modules' export
 * objects, which `require('node:http')`, `import http from 'node:http'` and (after
 * syncBuiltinESMExports) `import { request } from 'node:http'` all read. Builtins are
 * loaded already, so no require hook is needed.
 *
 * No shimmer markers (`__wrapped`): @opentelemetry/instrumentation-http unwraps a
 * function that carries them before wrapping its own, which would silently remove
 * breakwater. Without them it wraps breakwater's function like any other, in either
 * order. disable() puts the originals back only where breakwater's functions are still
 * installed; a wrapper still held by someone else passes calls straight through.
 */
export function createHttpAdapter(runtime: Runtime): Adapter {
  let patched: Patched[] = [];
  let enabled = false;

  function patch(module: HttpModule, defaultProtocol: 'http:' | 'https:'): Patched {
    const originalRequest = module.request;
    const originalGet = module.get;
    const patchedModule: PatchedModule = {
      defaultProtocol,
      original: originalRequest,
      originalRecordsDuration: (originalRequest as { __wrapped?: unknown }).__wrapped === true,
    };
    const request = function request(this: unknown, ...args: unknown[]): ClientRequest {
      if (!enabled) return originalRequest.apply(this, args);
      return interceptRequest(runtime, patchedModule, this, args);
    };
    // Node's get() calls its module-internal request(), not the export: it gets its own wrapper.
    const get = function get(this: unknown, ...args: unknown[]): ClientRequest {
      if (!enabled) return originalGet.apply(this, args);
      const req = request.apply(this, args);
      req.end();
      return req;
    };
    module.request = request;
    module.get = get;
    return { module, originalRequest, originalGet, request, get };
  }

  return {
    client: 'http',
    enable(): void {
      if (enabled) return;
      enabled = true;
      patched = [patch(http as unknown as HttpModule, 'http:'), patch(https as unknown as HttpModule, 'https:')];
      syncBuiltinESMExports();
    },
    disable(): void {
      if (!enabled) return;
      enabled = false;
      for (const p of patched) {
        if (p.module.request === p.request) p.module.request = p.originalRequest;
        if (p.module.get === p.get) p.module.get = p.originalGet;
      }
      patched = [];
      syncBuiltinESMExports();
    },
  };
}
