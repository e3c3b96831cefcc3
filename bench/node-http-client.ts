// The benchmarks' second HTTP client beside global fetch: node:http's own `http.get`
// with a keep-alive agent, each response read whole. undici (behind fetch) allocates far
// more per request, and at a few hundred requests a second on Node 20 its young-generation
// collections pause the process for up to 10 ms (bench/tail reports the longest pause):
// with both clients, a figure can be told apart from the client library's own floor.
import { createRequire } from 'node:module';
import type { Agent } from 'node:http';

const require = createRequire(import.meta.url);

export interface NodeHttpClient {
  /** Resolves with the status and body once the response has ended; rejects on a request error or an abort. */
  get(url: string, signal?: AbortSignal): Promise<{ status: number; body: string }>;
  /** Connections the agent has opened so far. */
  connections(): number;
  close(): void;
}

/** Made after breakwater is enabled, as an application's own `require('node:http')` would be. */
export function nodeHttpClient(): NodeHttpClient {
  const http = require('node:http') as typeof import('node:http');
  const agent = new http.Agent({ keepAlive: true });
  let connections = 0;
  const opened = agent as unknown as { createConnection: (...args: unknown[]) => unknown };
  const createConnection = opened.createConnection.bind(agent);
  opened.createConnection = (...args) => {
    connections++;
    return createConnection(...args);
  };
  return {
    get: (url, signal) => get(http, agent, url, signal),
    connections: () => connections,
    close: () => agent.destroy(),
  };
}

function get(http: typeof import('node:http'), agent: Agent, url: string, signal: AbortSignal | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, signal ? { agent, signal } : { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
