import { createHash } from 'node:crypto';
import type { RespCommander } from './resp-client.js';
import { RespReplyError, type RespArg, type RespValue } from './resp.js';

/**
 * Runs one Lua script by its SHA1 (EVALSHA), so the script's text crosses the wire once
 * per server rather than on every call; when the server does not know it (NOSCRIPT:
 * first use, a restart, SCRIPT FLUSH, a failover) it is loaded with SCRIPT LOAD and run
 * again. Concurrent callers that meet NOSCRIPT together share one load.
 */
export class ScriptRunner {
  readonly sha: string;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly client: RespCommander,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source, 'utf8').digest('hex');
  }

  /** EVALSHA with `keys` and `args`; the whole of it (a load included) within timeoutMs. */
  async run(keys: readonly string[], args: readonly RespArg[], timeoutMs: number): Promise<RespValue> {
    const deadline = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - Date.now());
    const evalsha = (): Promise<RespValue> => this.client.command(['EVALSHA', this.sha, keys.length, ...keys, ...args], left());
    try {
      return await evalsha();
    } catch (err) {
      if (!(err instanceof RespReplyError && err.code === 'NOSCRIPT')) throw err;
    }
    await this.#load(left());
    return evalsha();
  }

  #load(timeoutMs: number): Promise<void> {
    this.#loading ??= this.client
      .command(['SCRIPT', 'LOAD', this.source], timeoutMs)
      .then((sha) => {
        if (sha !== this.sha) throw new Error(`SCRIPT LOAD answered ${String(sha)}, not the script's SHA1 ${this.sha}`);
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }
}
