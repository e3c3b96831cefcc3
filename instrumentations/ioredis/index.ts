import type { Adapter } from '../kit/adapter.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { IoredisInstrumentation } from './instrumentation.js';

export { IoredisInstrumentation } from './instrumentation.js';

/** breakwater's ioredis adapter (docs/adapters/ioredis.md): commands, pipelines and MULTI as logical calls. */
export function createIoredisAdapter(runtime: Runtime): Adapter {
  const instrumentation = new IoredisInstrumentation(runtime);
  return {
    client: 'ioredis',
    enable: () => instrumentation.enable(),
    disable: () => instrumentation.disable(),
  };
}
