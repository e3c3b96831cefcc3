import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { PgInstrumentation } from './instrumentation.js';

/** pg 8: Client and Pool queries, promise and callback forms (docs/adapters/pg.md). */
export function createPgAdapter(runtime: Runtime): Adapter {
  const instrumentation = new PgInstrumentation(runtime);
  return {
    client: 'pg',
    enable: () => instrumentation.enable(),
    disable: () => instrumentation.disable(),
  };
}
