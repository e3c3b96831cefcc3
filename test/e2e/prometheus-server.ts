/**
 * A real Prometheus server (the Debian package `prometheus`, the same one that brings
 * promtool) on 127.0.0.1 and a free port, with a temporary storage directory, and the
 * parts of its HTTP API the end-to-end test reads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensurePromtool } from '../collector/promtool.js';

export const PROMETHEUS_HINT =
  'the end-to-end test needs the Prometheus server: install the Debian package prometheus ' +
  '(apt-get install prometheus), which provides /usr/bin/prometheus';

/** A port free right now on 127.0.0.1 (the OS picks it; closed again before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The prometheus binary, installing the package when missing (as promtool's set-up does); never skips. */
export async function ensurePrometheus(): Promise<string> {
  let promtool: string;
  try {
    promtool = await ensurePromtool();
  } catch (error) {
    throw new Error(`${PROMETHEUS_HINT}: ${(error as Error).message}`);
  }
  for (const candidate of [join(dirname(promtool), 'prometheus'), '/usr/bin/prometheus']) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there
    }
  }
  throw new Error(`${PROMETHEUS_HINT} (promtool is at ${promtool}, but no prometheus beside it)`);
}

export interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt: string;
  value: string;
}

export interface PrometheusServer {
  url: string;
  /** An instant query; throws on a PromQL error. */
  query(expr: string): Promise<Sample[]>;
  /** A range query over the last `seconds`, one step per second. */
  queryRange(expr: string, seconds: number): Promise<Sample[]>;
  /** Names of every series known for a selector (/api/v1/series). */
  series(selector: string, seconds: number): Promise<Record<string, string>[]>;
  alerts(): Promise<PrometheusAlert[]>;
  /** Prometheus's own output so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

/**
 * Starts Prometheus with the given configuration (and extra files written beside it,
 * such as rules), and resolves once it is ready to serve queries.
 */
export async function startPrometheus(config: string, files: Record<string, string> = {}): Promise<PrometheusServer> {
  const binary = await ensurePrometheus();
  const dir = await mkdtemp(join(tmpdir(), 'breakwater-prometheus-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'prometheus.yml'), config.replaceAll('$DIR', dir));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=exemplar-storage',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as ApiAnswer<T>;
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  const server: PrometheusServer = {
    url,
    async query(expr) {
      const data = await api<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result;
    },
    async queryRange(expr, seconds) {
      const end = Date.now() / 1000;
      const data = await api<{ result: Sample[] }>(
        `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${end - seconds}&end=${end}&step=1`,
      );
      return data.result;
    },
    async series(selector, seconds) {
      const end = Date.now() / 1000;
      return api<Record<string, string>[]>(`/api/v1/series?match[]=${encodeURIComponent(selector)}&start=${end - seconds}&end=${end}`);
    },
    async alerts() {
      return (await api<{ alerts: PrometheusAlert[] }>('/api/v1/alerts')).alerts;
    },
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };

  // Ready: /-/ready answers 200 once the TSDB is open and the rules are loaded.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await server.stop();
      throw new Error(`Prometheus exited at start-up (code ${child.exitCode}):\n${output.slice(-3000)}`);
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`Prometheus was not ready within 30 s:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
