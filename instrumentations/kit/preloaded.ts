import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * A client module the application required before enable() is served from require's
 * cache from then on: require-in-the-middle never sees it, so adapters patch it from the
 * cache. This visits every fully loaded module in that cache (as the application, from
 * its working directory, sees it), with its file name in forward slashes, and the cache
 * itself for looking up a sibling file. Nothing is visited when there is no cache.
 */
export function forEachLoadedModule(visit: (file: string, loaded: NodeModule, cache: NodeJS.Dict<NodeModule>) => void): void {
  let cache: NodeJS.Dict<NodeModule>;
  try {
    cache = createRequire(path.join(process.cwd(), 'index.js')).cache;
  } catch {
    return;
  }
  for (const [filename, loaded] of Object.entries(cache)) {
    if (loaded === undefined || !loaded.loaded) continue;
    visit(filename.split(path.sep).join('/'), loaded, cache);
  }
}
