// Runs a Node child process (the current binary) and collects its output, for tests of
// what a process does under breakwater/register.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from build/test/...). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningChild {
  child: ChildProcess;
  /** Resolves with the first stdout line. */
  firstLine: Promise<string>;
  done: Promise<ChildResult>;
}

/** Environment for a child: the parent's, minus BREAKWATER_* and OTEL_* (tests set their own). */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BREAKWATER_') && !k.startsWith('OTEL_')) env[k] = v;
  return { ...env, ...extra };
}

export function startChild(args: string[], env: Record<string, string>, timeoutMs = 30_000): RunningChild {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let lineResolve: (line: string) => void;
  const firstLine = new Promise<string>((resolve) => (lineResolve = resolve));
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    const nl = stdout.indexOf('\n');
    if (nl >= 0) lineResolve(stdout.slice(0, nl));
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ChildResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeoutMs} ms: ${args.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, firstLine, done };
}

export function runChild(args: string[], env: Record<string, string>, timeoutMs?: number): Promise<ChildResult> {
  return startChild(args, env, timeoutMs).done;
}
