import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import type { ClientRequest } from 'node:http';
import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { keepOutermost, scheduleOutermostCheck, type OutermostHandle } from '../kit/outermost.js';
import { interceptRequest, type PatchedModule } from './intercept.js';
import type { RequestFunction } from './resilient-request.js';

type HttpModule = { request: RequestFunction; get: RequestFunction };

interface Patched {
  readonly module: HttpModule;
  readonly originalRequest: RequestFunction;
  readonly originalGet: RequestFunction;
  readonly request: RequestFunction;
  readonly get: RequestFunction;
  readonly layers: readonly OutermostHandle[];
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
 * order; when it wraps after breakwater, kit/outermost.ts puts a fresh breakwater
 * wrapper over it. disable() puts the originals back only where breakwater's functions
 * are still installed; a wrapper still held by someone else passes calls straight through.
 */
export function createHttpAdapter(runtime: Runtime): Adapter {
  let patched: Patched[] = [];
  let enabled = false;

  function patch(module: HttpModule, defaultProtocol: 'http:' | 'https:'): Patched {
    const originalRequest = module.request;
    const originalGet = module.get;
    let requestLayer: OutermostHandle | undefined;
    const makeRequest = (below: RequestFunction): RequestFunction => {
      const patchedModule: PatchedModule = {
        defaultProtocol,
        original: below,
        // The official instrumentation below (shimmer marks its wrapper) records each attempt's duration point itself.
        originalRecordsDuration: (below as { __wrapped?: unknown }).__wrapped === true,
      };
      return function request(this: unknown, ...args: unknown[]): ClientRequest {
        if (!enabled) return below.apply(this, args);
        // Overtaken since (an instrumentation wrapped over this layer): re-layer for the next calls.
        if (requestLayer !== undefined && !requestLayer.isOnTop()) scheduleOutermostCheck();
        return interceptRequest(runtime, patchedModule, this, args);
      };
    };
    // Node's get() calls its module-internal request(), not the export: it gets its own
    // wrapper, which runs breakwater's newest request layer (not whatever is on top of it).
    const makeGet = (below: RequestFunction): RequestFunction =>
      function get(this: unknown, ...args: unknown[]): ClientRequest {
        if (!enabled) return below.apply(this, args);
        const req = (requestLayer?.newest ?? request).apply(this, args) as ClientRequest;
        req.end();
        return req;
      };
    const request = makeRequest(originalRequest);
    const get = makeGet(originalGet);
    module.request = request;
    module.get = get;
    requestLayer = keepOutermost({ target: module, name: 'request', installed: request, original: originalRequest, wrap: makeRequest, afterRelayer: syncBuiltinESMExports });
    const getLayer = keepOutermost({ target: module, name: 'get', installed: get, original: originalGet, wrap: makeGet, afterRelayer: syncBuiltinESMExports });
    return { module, originalRequest, originalGet, request, get, layers: [requestLayer, getLayer] };
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
        for (const layer of p.layers) layer.release();
        if (p.module.request === p.request) p.module.request = p.originalRequest;
        if (p.module.get === p.get) p.module.get = p.originalGet;
      }
      patched = [];
      syncBuiltinESMExports();
    },
  };
}
