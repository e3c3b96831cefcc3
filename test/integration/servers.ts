// Real PostgreSQL and Redis servers for the integration tests and the fault matrix.
// breakwater's claims are about what real clients see from real servers (SQLSTATEs,
// NOAUTH, ECONNREFUSED after a restart...), so the tests never mock a server: this
// module installs the Debian packages when they are missing, starts private server
// processes on 127.0.0.1 on free ports (never the system's service), and can stop
// and restart them on the same port to simulate a dependency going away.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface PgServer {
  host: string;
  port: number;
  /** A non-superuser login role that owns `database` (so 42501 can be provoked). */
  user: string;
  password: string;
  database: string;
  /** postgresql://user:pass@127.0.0.1:port/db */
  url: string;
  /** The bootstrap superuser, for tests that need one (pg_terminate_backend of others, ALTER SYSTEM...). */
  admin: { user: string; password: string; url: string };
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
}

export interface RedisServer {
  host: string;
  port: number;
  password: string;
  /** redis://:password@127.0.0.1:port (accepted by ioredis and node-redis) */
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const APT_TIMEOUT_MS = 15 * 60_000;

// ---------------------------------------------------------------------------
// Process bookkeeping: every server runs in its own process group (detached), so
// stop() and the exit safety net can kill the whole group and leave no orphans.

interface Managed {
  child: ChildProcess;
  exited: Promise<void>;
  hasExited: boolean;
}

const liveGroups = new Set<number>();
const tempDirs = new Set<string>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  const killAllSync = (): void => {
    for (const pid of liveGroups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    liveGroups.clear();
    for (const dir of tempDirs) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
    tempDirs.clear();
  };
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      killAllSync();
      process.removeListener(signal, onSignal);
      // If nobody else handles the signal, die of it as we would have without us.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function launch(
  command: string,
  args: string[],
  options: { cwd: string; logFile: string; uid?: number; gid?: number; env?: NodeJS.ProcessEnv },
): Managed {
  installSafetyNet();
  const logFd = fs.openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? cleanEnv(options.cwd),
      detached: true, // own process group: stop() kills the group
      stdio: ['ignore', logFd, logFd],
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
  } finally {
    fs.closeSync(logFd);
  }
  const managed: Managed = { child, hasExited: false, exited: Promise.resolve() };
  managed.exited = new Promise<void>((resolve) => {
    const done = (): void => {
      managed.hasExited = true;
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      resolve();
    };
    child.once('exit', done);
    child.once('error', done); // spawn failure (ENOENT, EACCES): no 'exit' follows
  });
  if (child.pid !== undefined) liveGroups.add(child.pid);
  // A forgotten server must not keep mocha alive; the safety net still kills it on exit.
  child.unref();
  return managed;
}

async function terminate(proc: Managed, signal: NodeJS.Signals): Promise<void> {
  const pid = proc.child.pid;
  if (!proc.hasExited && pid !== undefined) {
    proc.child.ref(); // keep the loop alive while we wait for the exit
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
    const timedOut = await Promise.race([
      proc.exited.then(() => false),
      delay(STOP_TIMEOUT_MS).then(() => true),
    ]);
    if (timedOut) {
      killGroup(pid);
      await proc.exited;
    }
    proc.child.unref();
  }
  // Sweep the group: nothing the server forked may outlive it.
  if (pid !== undefined) killGroup(pid);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* group empty */
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
  });
}

function cleanEnv(home: string): NodeJS.ProcessEnv {
  // No PG*/REDIS* variables from the developer's shell leak into the servers.
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C', LC_ALL: 'C' };
}

/** A loopback port free now (nothing listens on it: a dial is refused). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function logTail(file: string, max = 4000): Promise<string> {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.length > max ? '…' + text.slice(-max) : text;
  } catch {
    return '(no log)';
  }
}

function run(
  command: string,
  args: string[],
  options: { timeout?: number; env?: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { maxBuffer: 64 * 1024 * 1024, timeout: options.timeout ?? 120_000, killSignal: 'SIGKILL', ...options },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as Error & { stdout?: string; stderr?: string };
          e.stdout = String(stdout);
          e.stderr = String(stderr);
          reject(e);
        } else resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fsp.access(file, fs.constants.X_OK);
    return (await fsp.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function which(name: string, extraDirs: string[] = []): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirs].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Installation: apt-get update once per process, installs serialized (dpkg lock).

let aptUpdated = false;
let aptChain: Promise<unknown> = Promise.resolve();

function aptInstall(pkg: string): Promise<void> {
  const step = aptChain.then(async () => {
    if (process.getuid?.() !== 0) throw new Error('not running as root, so apt-get cannot be used');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      if (!aptUpdated) {
        await run('apt-get', ['update'], { env, timeout: APT_TIMEOUT_MS });
        aptUpdated = true;
      }
      await run('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, timeout: APT_TIMEOUT_MS });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`${e.message.split('\n')[0]}${e.stderr ? `: ${e.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
    }
  });
  aptChain = step.catch(() => undefined);
  return step;
}

/** Finds a binary; installs `pkg` with apt-get when missing; throws a message naming the package. */
async function ensureInstalled<T>(what: string, pkg: string, find: () => Promise<T | undefined>): Promise<T> {
  const found = await find();
  if (found !== undefined) return found;
  let why: string;
  try {
    await aptInstall(pkg);
    const after = await find();
    if (after !== undefined) return after;
    why = `apt-get install ${pkg} succeeded but the binaries are still missing`;
  } catch (err) {
    why = `apt-get install failed (${(err as Error).message})`;
  }
  throw new Error(`${what} not found and ${why}: install the Debian package '${pkg}' (apt-get install -y ${pkg})`);
}

// ---------------------------------------------------------------------------
// PostgreSQL

async function findPgBin(): Promise<string | undefined> {
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = await fsp.readdir(root);
  } catch {
    /* not installed from Debian packages */
  }
  versions.sort((a, b) => Number(b) - Number(a) || b.localeCompare(a));
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if ((await isExecutable(path.join(bin, 'initdb'))) && (await isExecutable(path.join(bin, 'postgres')))) return bin;
  }
  const initdb = await which('initdb');
  if (initdb) {
    const bin = path.dirname(await fsp.realpath(initdb));
    if (await isExecutable(path.join(bin, 'postgres'))) return bin;
  }
  return undefined;
}

/** Postgres refuses to run as root: as root we run it as the `postgres` user. */
async function pgIdentity(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    if (Number.isInteger(uid) && Number.isInteger(gid) && uid > 0) return { uid, gid };
  } catch {
    /* fall through */
  }
  throw new Error(
    "Running as root but there is no 'postgres' user to run PostgreSQL as: install the Debian package 'postgresql' (it creates that user)",
  );
}

function secret(): string {
  return crypto.randomBytes(12).toString('hex');
}

async function pgQueryOnce(config: pg.ClientConfig, sql: string): Promise<void> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined); // a drop while we wait must not crash the process
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Server settings passed as `-c name=value` on top of the harness's own (`max_connections`:
 * 20 for a dependency that runs out of connections). Values are numbers or plain words.
 */
export type PgSettings = Readonly<Record<string, number | string>>;

/** A setting name or value postgres would read as something else (a space, a quote, an `=`) is refused. */
const PG_SETTING_NAME = /^[a-z_][a-z0-9_.]*$/;
const PG_SETTING_VALUE = /^[A-Za-z0-9_.:+-]+$/;

function settingArgs(settings: PgSettings): string[] {
  return Object.entries(settings).flatMap(([name, value]) => {
    if (!PG_SETTING_NAME.test(name) || !PG_SETTING_VALUE.test(String(value))) throw new Error(`not a PostgreSQL setting this harness passes on: ${name}=${String(value)}`);
    return ['-c', `${name}=${value}`];
  });
}

async function startPgServer(settings: PgSettings = {}): Promise<PgServer> {
  const extraArgs = settingArgs(settings);
  const bin = await ensureInstalled('PostgreSQL server', 'postgresql', findPgBin);
  const { uid, gid } = await pgIdentity();
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'breakwater-pg-'));
  tempDirs.add(base);
  if (uid !== undefined && gid !== undefined) await fsp.chown(base, uid, gid);
  const dataDir = path.join(base, 'data');
  const logFile = path.join(base, 'postgres.log');
  const adminUser = 'postgres';
  const adminPassword = secret();
  const user = 'breakwater';
  const password = secret();
  const database = 'breakwater';
  const port = await freePort();
  const ids = uid !== undefined && gid !== undefined ? { uid, gid } : {};
  let proc: Managed | undefined;

  const cleanupOnFailure = async (err: unknown): Promise<never> => {
    if (proc) await terminate(proc, 'SIGQUIT');
    await fsp.rm(base, { recursive: true, force: true }).catch(() => undefined);
    tempDirs.delete(base);
    throw err;
  };

  try {
    const pwfile = path.join(base, 'pwfile');
    await fsp.writeFile(pwfile, adminPassword + '\n', { mode: 0o600 });
    if (uid !== undefined && gid !== undefined) await fsp.chown(pwfile, uid, gid);
    try {
      await run(
        path.join(bin, 'initdb'),
        ['-D', dataDir, '-U', adminUser, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
        { cwd: base, env: cleanEnv(base), timeout: 120_000, ...ids },
      );
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(`initdb failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
    }
    await fsp.rm(pwfile, { force: true });
  } catch (err) {
    return cleanupOnFailure(err);
  }

  const args = [
    '-D', dataDir,
    '-p', String(port),
    '-c', `listen_addresses=${HOST}`,
    '-c', 'unix_socket_directories=', // TCP only
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
    '-c', 'dynamic_shared_memory_type=mmap', // containers often have a tiny /dev/shm
    '-c', 'max_parallel_workers_per_gather=0',
    '-c', 'shared_buffers=32MB',
    // Last: a caller's setting overrides the harness's own.
    ...extraArgs,
  ];
  const adminConfig: pg.ClientConfig = { host: HOST, port, user: adminUser, password: adminPassword, database: 'postgres' };

  const startProcess = async (): Promise<Managed> => {
    const p = launch(path.join(bin, 'postgres'), args, { cwd: base, logFile, ...ids });
    await waitReady('PostgreSQL', p, logFile, () => pgQueryOnce(adminConfig, 'select 1'));
    return p;
  };

  try {
    proc = await startProcess();
    await pgQueryOnce(adminConfig, `create role ${user} login password '${password}' createdb`);
    await pgQueryOnce(adminConfig, `create database ${database} owner ${user}`);
  } catch (err) {
    return cleanupOnFailure(err);
  }

  const enc = encodeURIComponent;
  // Fast shutdown (SIGINT): sessions get 57P01, as in a real restart.
  const life = lifecycle('PostgreSQL', 'postgres', 'SIGINT', base, startProcess, proc!);
  const server: PgServer = {
    host: HOST,
    port,
    user,
    password,
    database,
    url: `postgresql://${enc(user)}:${enc(password)}@${HOST}:${port}/${enc(database)}`,
    admin: {
      user: adminUser,
      password: adminPassword,
      url: `postgresql://${enc(adminUser)}:${enc(adminPassword)}@${HOST}:${port}/postgres`,
    },
    stop: life.stop,
    start: life.start,
    restart: life.restart,
  };
  registry.set(server, { destroy: life.destroy });
  return server;
}

// ---------------------------------------------------------------------------
// Redis

async function findRedis(): Promise<string | undefined> {
  return which('redis-server', ['/usr/bin', '/usr/sbin', '/usr/local/bin']);
}

function redisPing(port: number, password: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    let buf = '';
    const timer = setTimeout(() => socket.destroy(new Error('PING timed out')), 2000);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`AUTH ${password}\r\nPING\r\n`));
    socket.on('data', (d: string) => {
      buf += d;
      if (buf.includes('+PONG\r\n')) {
        socket.end();
        clearTimeout(timer);
        resolve();
      } else if (buf.startsWith('-')) socket.destroy(new Error(buf.trim()));
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`connection closed before PONG (${JSON.stringify(buf)})`));
    });
  });
}

/** One redis-server process with `password`, on a free port of its own, in a private dir; `extra` are more options. */
async function startRedisNode(password: string, extra: string[] = []): Promise<{ port: number; life: ReturnType<typeof lifecycle> }> {
  const bin = await ensureInstalled('Redis server', 'redis-server', findRedis);
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'breakwater-redis-'));
  tempDirs.add(base);
  const logFile = path.join(base, 'redis.log');
  const port = await freePort();
  const args = [
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--requirepass', password,
    '--dir', base,
    '--daemonize', 'no',
    '--unixsocket', '',
    ...extra,
  ];
  const startProcess = async (): Promise<Managed> => {
    const p = launch(bin, args, { cwd: base, logFile });
    await waitReady('Redis', p, logFile, () => redisPing(port, password));
    return p;
  };
  let proc: Managed;
  try {
    proc = await startProcess();
  } catch (err) {
    await fsp.rm(base, { recursive: true, force: true }).catch(() => undefined);
    tempDirs.delete(base);
    throw err;
  }
  return { port, life: lifecycle('Redis', 'redis', 'SIGTERM', base, startProcess, proc) };
}

async function startRedisServer(): Promise<RedisServer> {
  const password = secret();
  const { port, life } = await startRedisNode(password);
  const server: RedisServer = {
    host: HOST,
    port,
    password,
    url: `redis://:${encodeURIComponent(password)}@${HOST}:${port}`,
    stop: life.stop,
    start: life.start,
    restart: life.restart,
  };
  registry.set(server, { destroy: life.destroy });
  return server;
}

export interface RedisClusterNode {
  port: number;
  /** redis://:password@127.0.0.1:port */
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface RedisClusterServer {
  host: string;
  password: string;
  /** Three masters, no replicas, each serving a third of the slots. */
  nodes: RedisClusterNode[];
  /** redis-cli against the node at `port` (authenticated): its reply as text. */
  cli(port: number, ...args: string[]): Promise<string>;
}

const CLUSTER_NODES = 3;

async function startRedisCluster(): Promise<RedisClusterServer> {
  const password = secret();
  const cliBin = await ensureInstalled('Redis client', 'redis-tools', () => which('redis-cli', ['/usr/bin', '/usr/local/bin']));
  // A short node timeout, and the slots of a dead node not taking the others down with them (no replicas here to fail over to).
  const extra = ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000', '--cluster-require-full-coverage', 'no', '--masterauth', password];
  const started = await Promise.allSettled(Array.from({ length: CLUSTER_NODES }, () => startRedisNode(password, extra)));
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const destroy = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.life.destroy()));
  };
  const cli = async (port: number, ...args: string[]): Promise<string> =>
    (await run(cliBin, ['-h', HOST, '-p', String(port), '-a', password, '--no-auth-warning', ...args], { timeout: 30_000, env: cleanEnv(os.tmpdir()) })).stdout.trim();
  try {
    if (nodes.length < CLUSTER_NODES) throw (started.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
    await run(cliBin, ['-a', password, '--no-auth-warning', '--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 60_000,
      env: cleanEnv(os.tmpdir()),
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const node of nodes) {
      while (!(await cli(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`the Redis Cluster did not reach cluster_state:ok within ${READY_TIMEOUT_MS} ms`);
        await delay(50);
      }
    }
  } catch (err) {
    await destroy().catch(() => undefined);
    throw err;
  }
  const server: RedisClusterServer = {
    host: HOST,
    password,
    nodes: nodes.map(({ port, life }) => ({ port, url: `redis://:${encodeURIComponent(password)}@${HOST}:${port}`, stop: life.stop, start: life.start })),
    cli,
  };
  registry.set(server, { destroy });
  return server;
}

// ---------------------------------------------------------------------------
// Shared plumbing

async function waitReady(name: string, proc: Managed, logFile: string, probe: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  proc.child.ref();
  try {
    while (Date.now() < deadline) {
      if (proc.hasExited) {
        throw new Error(
          `${name} exited during start-up (code ${proc.child.exitCode ?? proc.child.signalCode}). Log:\n${await logTail(logFile)}`,
        );
      }
      try {
        await probe();
        return;
      } catch (err) {
        lastError = err;
      }
      await delay(50);
    }
  } catch (err) {
    await terminate(proc, 'SIGKILL');
    throw err;
  } finally {
    proc.child.unref();
  }
  await terminate(proc, 'SIGKILL');
  throw new Error(
    `${name} did not become ready within ${READY_TIMEOUT_MS} ms (last error: ${(lastError as Error)?.message}). Log:\n${await logTail(logFile)}`,
  );
}

/** Runs start/stop operations of one server one at a time. */
/**
 * Stop, start, restart and removal of one server process, serialized so that a test's
 * stop() and restart() never overlap; `stopSignal` is the server's graceful shutdown.
 */
function lifecycle(name: string, factory: string, stopSignal: NodeJS.Signals, base: string, startProcess: () => Promise<Managed>, first: Managed) {
  const ops = serializer();
  let proc = first;
  let destroyed = false;
  const stop = () =>
    ops(async () => {
      if (!proc.hasExited) await terminate(proc, stopSignal);
    });
  const start = () =>
    ops(async () => {
      if (destroyed) throw new Error(`this ${name} server was removed by stopAllServers(); call ${factory}() again`);
      if (proc.hasExited) proc = await startProcess();
    });
  return {
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    destroy: async () => {
      await ops(async () => {
        destroyed = true;
        await terminate(proc, stopSignal);
      });
      await fsp.rm(base, { recursive: true, force: true });
      tempDirs.delete(base);
    },
  };
}

function serializer(): <T>(op: () => Promise<T>) => Promise<T> {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(op: () => Promise<T>): Promise<T> => {
    const next = chain.then(op);
    chain = next.catch(() => undefined);
    return next;
  };
}

const registry = new Map<object, { destroy(): Promise<void> }>();
let pgPromise: Promise<PgServer> | undefined;
let redisPromise: Promise<RedisServer> | undefined;
let redisClusterPromise: Promise<RedisClusterServer> | undefined;
const dedicatedPg = new Set<Promise<PgServer>>();

/** The shared PostgreSQL server (started on first use). Give the calling hook a long timeout on a fresh machine: it may install packages. */
export function postgres(): Promise<PgServer> {
  if (!pgPromise) {
    const p = startPgServer();
    pgPromise = p;
    p.catch(() => {
      if (pgPromise === p) pgPromise = undefined; // a later call may try again
    });
  }
  return pgPromise;
}

/**
 * A PostgreSQL of the caller's own, started with `settings` (the shared one's settings
 * are fixed, so a test that changes them gets a server no other test sees): for example
 * `{ max_connections: 20 }` for a dependency that runs out of connections. Each call
 * starts another; stopAllServers() stops them with the shared ones.
 */
export function postgresWith(settings: PgSettings): Promise<PgServer> {
  const p = startPgServer(settings);
  dedicatedPg.add(p);
  p.catch(() => dedicatedPg.delete(p));
  return p;
}

/** The shared Redis server (started on first use), with requirepass set. */
export function redis(): Promise<RedisServer> {
  if (!redisPromise) {
    const p = startRedisServer();
    redisPromise = p;
    p.catch(() => {
      if (redisPromise === p) redisPromise = undefined;
    });
  }
  return redisPromise;
}

/**
 * The shared Redis Cluster (started on first use): three masters on loopback, no
 * replicas, requirepass set, cluster_state:ok before it is handed out. A node stopped
 * leaves the others serving their slots (cluster-require-full-coverage no).
 */
export function redisCluster(): Promise<RedisClusterServer> {
  if (!redisClusterPromise) {
    const p = startRedisCluster();
    redisClusterPromise = p;
    p.catch(() => {
      if (redisClusterPromise === p) redisClusterPromise = undefined;
    });
  }
  return redisClusterPromise;
}

/** Stops every server this process started and removes their temp dirs. */
export async function stopAllServers(): Promise<void> {
  const pending = [pgPromise, redisPromise, redisClusterPromise, ...dedicatedPg];
  pgPromise = undefined;
  redisPromise = undefined;
  redisClusterPromise = undefined;
  dedicatedPg.clear();
  const servers = (await Promise.allSettled(pending)).flatMap((r) =>
    r.status === 'fulfilled' && r.value ? [r.value] : [],
  );
  const results = await Promise.allSettled(
    servers.map(async (s) => {
      const entry = registry.get(s);
      registry.delete(s);
      await entry?.destroy();
    }),
  );
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) throw new AggregateError(failures, 'stopping the test servers failed');
}
