import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export const INSTALL_HINT =
  'promtool is needed to check the Prometheus rules: install the Debian package prometheus ' +
  '(apt-get install prometheus) or put a promtool binary on PATH';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never rejects for a non-zero exit, only when it cannot start. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function findPromtool(): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'promtool');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * promtool on PATH, installing the Debian package `prometheus` when it is missing (the
 * machine is Debian and we are root). Throws with INSTALL_HINT when that is not possible:
 * the rules must never go untested because a tool is absent.
 */
export async function ensurePromtool(): Promise<string> {
  const found = await findPromtool();
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) throw new Error(`${INSTALL_HINT} (not root, so the test cannot install it)`);

  const before = await prometheusServerPids();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = await run('apt-get', ['update'], env);
  // No recommends: they would add (and start) prometheus-node-exporter, which we do not need.
  const install =
    update.code === 0 ? await run('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], env) : update;
  // The package's maintainer script may start the server; a test run leaves no daemon behind.
  await stopNewPids(before);
  if (install.code !== 0) {
    throw new Error(`${INSTALL_HINT}: apt-get failed (exit ${install.code}):\n${install.stderr.slice(-2000)}`);
  }
  const installed = await findPromtool();
  if (installed === undefined) throw new Error(`${INSTALL_HINT}: the package installed, but promtool is not on PATH`);
  return installed;
}

/** Pids of running processes whose executable name is exactly `prometheus`. */
async function prometheusServerPids(): Promise<Set<number>> {
  const pids = new Set<number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = (await readFile(`/proc/${entry}/comm`, 'utf8')).trim();
      if (comm === 'prometheus') pids.add(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

async function stopNewPids(before: Set<number>): Promise<void> {
  const started = [...(await prometheusServerPids())].filter((pid) => !before.has(pid));
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 50 && started.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
  for (const pid of started.filter(isAlive)) process.kill(pid, 'SIGKILL');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
