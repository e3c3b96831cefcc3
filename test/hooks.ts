// Mocha root hooks (loaded through `require` in .mocharc.cjs): after the whole run,
// stop the real PostgreSQL/Redis servers that integration tests started and remove
// their temp dirs, so a test run never leaves server processes behind.
import { stopAllServers } from './integration/servers.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopAllServers();
  },
};
