// Fleet mode end to end: instances of one service as child processes under
// breakwater/register, on loopback, sharing a rate limit through a real redis-server.
// - 4 instances, each wanting twice its share, hold the fleet's quota within 10% over 30 s;
// - Redis killed mid-run: every instance on its local share within 1 s, no call failing
//   for it; Redis back: every instance on the fleet's quota again;
// - a dependency dead for all 4: with fleet mode they send it about what one instance
//   alone sends (without it, 4 times as much), also when it dies after a window full of
//   successes (the fleet judges its newest bucket alone too); an outage seen by one instance opens every
//   instance's breaker within 1 s; Redis killed: breakers and budgets local within 1 s,
//   no call failing for it, and back on the fleet when Redis is;
// - beside an application's own OpenTelemetry NodeSDK and auto-instrumentations,
//   breakwater's Redis connection records no span and no metric point.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, REPO_ROOT, startChild } from '../helpers/child.js';
import { appDir } from '../helpers/existing-otel-app.js';
import { metricPoints, OtlpReceiver } from '../helpers/otlp-receiver.js';
import { httpServer, type HttpTestServer } from '../integration/http-server.js';
import { redis, type RedisServer } from '../integration/servers.js';

const APP = 'test/fixtures/fleet/quota-app.mjs';
const INSTANCES = 4;
/** The fleet's quota (calls/s) and burst. */
const RATE = 200;
const BURST = 20;
/** Each instance wants twice its share. */
const DEMAND = (2 * RATE) / INSTANCES;
const WINDOW_MS = 30_000;

interface Report {
  t: number;
  ok: number;
  limited: number;
  rejected: number;
  other: number;
  errors: Record<string, number>;
  decision: 'fleet' | 'local' | 'none';
  /** The dependency's breaker, and whose view its breaker and budget follow. */
  state: 'closed' | 'open' | 'half_open' | 'none';
  breaker: 'fleet' | 'local' | 'none';
  budget: 'fleet' | 'local' | 'none';
}

/**
 * The breaker settings of the breaker and budget proofs, as a user would set them: the
 * rate rule (half the calls failing, over 10 s, once 20 calls were made; the default's
 * 30 s window shortened), the default 5 s open period.
 */
const BREAKER_ENV = { BREAKWATER_BREAKER: 'rate', BREAKWATER_BREAKER_FAILURE_RATE: '0.5', BREAKWATER_BREAKER_MIN_CALLS: '20', BREAKWATER_BREAKER_WINDOW_MS: '10000' };

/** One instance: its reports as they arrive (with the time each arrived), and how it ended. */
class Instance {
  readonly reports: Array<Report & { at: number }> = [];
  readonly done: Promise<{ code: number | null; final: Report | undefined; stderr: string }>;
  private stderr = '';
  private final: Report | undefined;

  constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as Report & { done?: boolean };
        buffered = buffered.slice(nl + 1);
        if (line.done === true) this.final = line;
        else this.reports.push({ ...line, at: Date.now() });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.done = new Promise((resolve) => child.on('exit', (code) => resolve({ code, final: this.final, stderr: this.stderr })));
  }

  get decision(): Report['decision'] | undefined {
    return this.reports.at(-1)?.decision;
  }

  /** When this instance first reported `decision` at or after `since`. */
  firstAt(decision: Report['decision'], since: number): number | undefined {
    return this.firstWhen((r) => r.decision === decision, since);
  }

  /** When this instance first reported something `holds` of, at or after `since`. */
  firstWhen(holds: (report: Report) => boolean, since: number): number | undefined {
    return this.reports.find((r) => r.at >= since && holds(r))?.at;
  }

  /** Ends its load (stdin closes) and waits for it to end by itself. */
  async stop(): Promise<{ code: number | null; final: Report | undefined; stderr: string }> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    try {
      return await this.done;
    } finally {
      clearTimeout(timer);
    }
  }
}

function launch(env: Record<string, string>, perInstance: (i: number) => Record<string, string> = () => ({})): Instance[] {
  return Array.from(
    { length: INSTANCES },
    (_, i) =>
      new Instance(
        spawn(process.execPath, ['--import', 'breakwater/register', APP], { cwd: REPO_ROOT, env: cleanEnv({ ...env, INSTANCE: String(i), ...perInstance(i) }), stdio: ['pipe', 'pipe', 'pipe'] }),
      ),
  );
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('fleet mode end to end (child processes, a real redis-server)', function () {
  this.timeout(180_000);
  let server: RedisServer;
  let upstream: HttpTestServer;
  /** Arrival times of the requests the dependency answered. */
  const arrivals: number[] = [];

  /** A dependency that can be killed (then it drops every connection it is sent), counting the calls each instance sent it. */
  let dependency: HttpTestServer;
  let dead = false;
  const sent = new Map<string, number>();

  before(async function () {
    this.timeout(15 * 60_000); // may install redis-server
    server = await redis();
    upstream = await httpServer((req, res) => {
      arrivals.push(Date.now());
      req.resume();
      res.writeHead(200).end('ok');
    });
    dependency = await httpServer((req, res) => {
      const instance = String(req.headers['x-instance']);
      sent.set(instance, (sent.get(instance) ?? 0) + 1);
      if (dead) req.socket.destroy();
      else res.writeHead(200).end('ok');
    });
  });

  after(async () => {
    await upstream?.close();
    await dependency?.close();
  });

  function fleetEnv(service: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      UPSTREAM_URL: upstream.url,
      BREAKWATER_INSTRUMENTATIONS: 'fetch',
      BREAKWATER_FLEET_REDIS_URL: server.url,
      BREAKWATER_FLEET_SERVICE: service,
      BREAKWATER_FLEET_EXPECTED_INSTANCES: String(INSTANCES),
      BREAKWATER_FLEET: 'true',
      BREAKWATER_RATE_LIMIT_PER_SECOND: String(RATE),
      BREAKWATER_RATE_LIMIT_BURST: String(BURST),
      BREAKWATER_RATE_LIMIT_MAX_WAIT_MS: '100',
      BREAKWATER_RETRY_MAX_ATTEMPTS: '1',
      ...extra,
    };
  }

  it(`${INSTANCES} instances share one quota of ${RATE}/s within 10% over 30 s; Redis killed: all local within 1 s, no call failed for it; Redis back: all rejoin`, async () => {
    const env = cleanEnv({ ...fleetEnv(`e2e-fleet-${process.pid}`), OTEL_SDK_DISABLED: 'true', DEMAND: String(DEMAND) });
    const instances = Array.from(
      { length: INSTANCES },
      () => new Instance(spawn(process.execPath, ['--import', 'breakwater/register', APP], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] })),
    );
    try {
      await until(() => instances.every((i) => i.decision === 'fleet'), 15_000, 'every instance leasing from the fleet');

      // The quota, over 30 s of every instance asking twice its share.
      const from = Date.now();
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      const to = Date.now();
      const answered = arrivals.filter((t) => t >= from && t < to).length;
      const expected = (RATE * (to - from)) / 1000;
      const perInstance = instances.map((i) => {
        const reports = i.reports.filter((r) => r.at >= from && r.at < to);
        return reports.at(-1)!.ok - reports[0]!.ok;
      });
      expect(answered, `calls the dependency answered in ${to - from} ms (instances: ${perInstance.join(' + ')})`).to.be.within(expected * 0.9, expected * 1.1);
      for (const n of perInstance) expect(n, 'every instance gets some of the quota').to.be.above(expected / INSTANCES / 3);
      expect(instances.every((i) => i.reports.filter((r) => r.at >= from && r.at < to).every((r) => r.decision === 'fleet')), 'the fleet decided throughout').to.equal(true);

      // Redis killed: each instance turns to its local share at once.
      const killedAt = Date.now();
      await server.stop();
      await until(() => instances.every((i) => i.firstAt('local', killedAt) !== undefined), 5_000, 'every instance on local state');
      const localAfter = instances.map((i) => i.firstAt('local', killedAt)! - killedAt);
      for (const ms of localAfter) expect(ms, `on local state after (ms): ${localAfter.join(', ')}`).to.be.below(1000);
      // The local shares still admit about the quota: calls go on, limited as before.
      const outageFrom = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const duringOutage = arrivals.filter((t) => t >= outageFrom).length;
      expect(duringOutage, 'answered in 3 s on local shares of 1/4 each').to.be.within(RATE * 3 * 0.8, RATE * 3 * 1.2);

      // Redis back: every instance rejoins the fleet.
      const restartedAt = Date.now();
      await server.start();
      await until(() => instances.every((i) => i.firstAt('fleet', restartedAt) !== undefined), 15_000, 'every instance back on the fleet');

      const rejoinedAfter = instances.map((i) => i.firstAt('fleet', restartedAt)! - restartedAt);
      console.log(
        `      quota: ${answered} answered in ${to - from} ms (${expected.toFixed(0)} allowed; instances ${perInstance.join(' + ')}); ` +
          `local after ${localAfter.join(', ')} ms; ${duringOutage} answered in 3 s of outage; back on the fleet after ${rejoinedAfter.join(', ')} ms`,
      );
      const ended = await Promise.all(instances.map((i) => i.stop()));
      for (const { code, final, stderr } of ended) {
        expect(code, stderr).to.equal(0);
        expect(final!.other, `calls failed other than by the rate limit: ${JSON.stringify(final!.errors)}`).to.equal(0);
        expect(final!.ok).to.be.above(0);
        expect(final!.limited, 'each instance wanted more than its share').to.be.above(0);
        expect(stderr, 'the outage and the recovery, each told once').to.match(/fleet mode: Redis redis:\/\/127\.0\.0\.1:\d+\/0 is unreachable/);
        expect(stderr).to.match(/is back; rate limits, breakers and retry budgets are the fleet's again/);
        expect(stderr).not.to.include(server.password);
      }
    } finally {
      for (const i of instances) i.child.kill('SIGKILL');
    }
  });

  /** The calls each instance sends a dependency dead from the start, over `runMs`, with the breaker and budget settings above. */
  async function deadDependencyRun(fleetMode: boolean, runMs: number): Promise<number[]> {
    dead = true;
    sent.clear();
    const service = `e2e-fleet-dead-${fleetMode}-${process.pid}`;
    const instances = launch({ ...fleetEnv(service, { ...BREAKER_ENV, BREAKWATER_FLEET: String(fleetMode), UPSTREAM_URL: dependency.url }), OTEL_SDK_DISABLED: 'true', DEMAND: '20', RUN_MS: String(runMs) });
    try {
      const ended = await Promise.all(instances.map((i) => i.done));
      for (const { code, final, stderr } of ended) {
        expect(code, stderr).to.equal(0);
        expect(final!.ok).to.equal(0);
        expect(final!.rejected, 'the breaker turned calls away').to.be.above(0);
      }
      return Array.from({ length: INSTANCES }, (_, i) => sent.get(String(i)) ?? 0);
    } finally {
      for (const i of instances) i.child.kill('SIGKILL');
    }
  }

  it(`a dependency dead for ${INSTANCES} instances: the fleet's calls to it, with and without fleet mode, against what one instance sends`, async () => {
    const RUN_MS = 6000;
    const local = await deadDependencyRun(false, RUN_MS);
    const fleet = await deadDependencyRun(true, RUN_MS);
    const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);
    // Without fleet mode each instance is on its own: what one sends alone is their mean.
    const alone = sum(local) / INSTANCES;
    const ratio = sum(fleet) / alone;
    console.log(
      `      dead dependency, ${RUN_MS} ms, ${INSTANCES} x 20 calls/s, rate rule (minCalls 20, 50%, 10 s), open 5 s: ` +
        `one instance alone ${alone.toFixed(1)}; without fleet mode ${sum(local)} (${local.join(' + ')}, ${(sum(local) / alone).toFixed(2)}x); ` +
        `with fleet mode ${sum(fleet)} (${fleet.join(' + ')}, ${ratio.toFixed(2)}x)`,
    );
    for (const n of local) expect(n, 'each instance alone trips after its minCalls').to.be.within(20, 40);
    // The fleet's rule opens after minCalls fleet-wide; each other instance then sends what
    // it has in flight until its next round's answer (its next failure asks for one at
    // once): about one call each, so about 1 + (N - 1) / minCalls = 1.15x. The bound leaves
    // a loaded machine two slow rounds per instance more.
    expect(ratio, `fleet mode: the fleet's calls over one instance's alone (${sum(fleet)} / ${alone})`).to.be.at.most(1.5);
    expect(sum(fleet), 'fleet mode sends far fewer than the fleet without it').to.be.below(sum(local) / 2);
  });

  /**
   * The calls each instance sends a dependency that dies once every instance's window
   * (`windowMs`) is full of successes, over `deadMs` after it died.
   */
  async function warmWindowRun(fleetMode: boolean, windowMs: number, deadMs: number): Promise<number[]> {
    dead = false;
    sent.clear();
    const service = `e2e-fleet-warm-${fleetMode}-${process.pid}`;
    const env = { ...BREAKER_ENV, BREAKWATER_BREAKER_WINDOW_MS: String(windowMs), BREAKWATER_FLEET: String(fleetMode), UPSTREAM_URL: dependency.url };
    const instances = launch({ ...fleetEnv(service, env), OTEL_SDK_DISABLED: 'true', DEMAND: '20', REPORT_MS: '50' });
    try {
      const started = Date.now();
      await until(() => instances.every((i) => i.reports.some((r) => r.ok > 0)), 15_000, 'every instance answered');
      const firstOk = Math.max(...instances.map((i) => i.firstWhen((r) => r.ok > 0, started)!));
      await new Promise((resolve) => setTimeout(resolve, firstOk + windowMs - Date.now()));
      const before = Array.from({ length: INSTANCES }, (_, i) => sent.get(String(i)) ?? 0);
      dead = true;
      await new Promise((resolve) => setTimeout(resolve, deadMs));
      const ended = await Promise.all(instances.map((i) => i.stop()));
      for (const { code, final, stderr } of ended) {
        expect(code, stderr).to.equal(0);
        expect(final!.rejected, 'the breaker turned calls away').to.be.above(0);
      }
      return before.map((n, i) => (sent.get(String(i)) ?? 0) - n);
    } finally {
      dead = false;
      for (const i of instances) i.child.kill('SIGKILL');
    }
  }

  it(`a dependency that dies after a window of successes: the fleet's calls to it, with and without fleet mode, against what one instance sends`, async () => {
    const WINDOW = 5000;
    const local = await warmWindowRun(false, WINDOW, 4500);
    const fleet = await warmWindowRun(true, WINDOW, 4500);
    const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);
    const alone = sum(local) / INSTANCES;
    const ratio = sum(fleet) / alone;
    console.log(
      `      dependency dead after a full window, ${INSTANCES} x 20 calls/s, rate rule (minCalls 20, 50%, ${WINDOW} ms): ` +
        `one instance alone ${alone.toFixed(1)}; without fleet mode ${sum(local)} (${local.join(' + ')}, ${(sum(local) / alone).toFixed(2)}x); ` +
        `with fleet mode ${sum(fleet)} (${fleet.join(' + ')}, ${ratio.toFixed(2)}x)`,
    );
    // Alone, failures must outweigh the window's successes as they age out: about half the
    // window's worth of calls (50). The fleet judges its newest bucket (a tenth of the
    // window) alone too, which the outage fills at once: at most half a bucket of the
    // fleet's calls (40), at least minCalls (20).
    for (const n of local) expect(n, 'each instance alone outweighs its window of successes').to.be.within(30, 80);
    expect(ratio, `fleet mode: the fleet's calls over one instance's alone (${sum(fleet)} / ${alone})`).to.be.at.most(1.25);
  });

  it('an outage seen by one instance opens the breaker in every instance within 1 s', async () => {
    dead = false;
    const service = `e2e-fleet-outage-${process.pid}`;
    // One busy instance sees the outage; the others call twice a second, far too rarely to open their own breakers soon.
    const instances = launch({ ...fleetEnv(service, { ...BREAKER_ENV, UPSTREAM_URL: dependency.url }), OTEL_SDK_DISABLED: 'true', REPORT_MS: '20' }, (i) => ({ DEMAND: i === 0 ? '50' : '2' }));
    try {
      await until(() => instances.every((i) => i.reports.at(-1)?.breaker === 'fleet'), 15_000, 'every breaker synced with the fleet');
      const killedAt = Date.now();
      dead = true;
      await until(() => instances.every((i) => i.firstWhen((r) => r.state === 'open', killedAt) !== undefined), 15_000, 'every breaker open');
      const opened = instances.map((i) => i.firstWhen((r) => r.state === 'open', killedAt)! - killedAt);
      const spread = Math.max(...opened) - Math.min(...opened);
      console.log(`      outage: breakers open after ${opened.join(', ')} ms (the busy instance first); all within ${spread} ms of the first`);
      expect(spread, `every breaker open within 1 s of the first (${opened.join(', ')} ms after the outage)`).to.be.below(1000);
      await Promise.all(instances.map((i) => i.stop()));
    } finally {
      dead = false;
      for (const i of instances) i.child.kill('SIGKILL');
    }
  });

  it('Redis killed: breakers and budgets local within 1 s and no call fails for it; Redis back: they rejoin', async () => {
    dead = false;
    const service = `e2e-fleet-redis-${process.pid}`;
    const instances = launch({ ...fleetEnv(service, { ...BREAKER_ENV, UPSTREAM_URL: dependency.url, BREAKWATER_RETRY_MAX_ATTEMPTS: '3' }), OTEL_SDK_DISABLED: 'true', DEMAND: '20', REPORT_MS: '20' });
    const onFleet = (r: Report) => r.breaker === 'fleet' && r.budget === 'fleet';
    const onLocal = (r: Report) => r.breaker === 'local' && r.budget === 'local';
    try {
      await until(() => instances.every((i) => i.reports.length > 0 && onFleet(i.reports.at(-1)!)), 15_000, 'every breaker and budget synced with the fleet');
      const killedAt = Date.now();
      await server.stop();
      await until(() => instances.every((i) => i.firstWhen(onLocal, killedAt) !== undefined), 5000, 'every breaker and budget local');
      const localAfter = instances.map((i) => i.firstWhen(onLocal, killedAt)! - killedAt);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const restartedAt = Date.now();
      await server.start();
      await until(() => instances.every((i) => i.firstWhen(onFleet, restartedAt) !== undefined), 15_000, 'every breaker and budget back on the fleet');
      const rejoinedAfter = instances.map((i) => i.firstWhen(onFleet, restartedAt)! - restartedAt);
      console.log(`      Redis killed: breakers and budgets local after ${localAfter.join(', ')} ms; back on the fleet after ${rejoinedAfter.join(', ')} ms of its restart`);
      for (const ms of localAfter) expect(ms, `local after (ms): ${localAfter.join(', ')}`).to.be.below(1000);
      const ended = await Promise.all(instances.map((i) => i.stop()));
      for (const { code, final, stderr } of ended) {
        expect(code, stderr).to.equal(0);
        expect(final!.ok).to.be.above(0);
        expect([final!.other, final!.rejected, final!.limited], `no call failed: ${JSON.stringify(final!.errors)}`).to.deep.equal([0, 0, 0]);
      }
      for (const i of instances) expect(i.reports.filter((r) => r.state === 'open' || r.state === 'half_open'), 'no breaker opened for Redis').to.deep.equal([]);
    } finally {
      for (const i of instances) i.child.kill('SIGKILL');
    }
  });

  it("beside the application's own NodeSDK and auto-instrumentations, breakwater's Redis connection records no span and no metric point", async () => {
    const dir = appDir('otel-sdk2', [APP]);
    const receiver = await OtlpReceiver.start();
    const service = `e2e-fleet-otel-${process.pid}`;
    try {
      const running = startChild(
        ['--import', path.join(dir, 'otel.mjs'), '--import', 'breakwater/register', path.join(dir, path.basename(APP))],
        {
          ...fleetEnv(service, { BREAKWATER_RATE_LIMIT_PER_SECOND: '20', BREAKWATER_RATE_LIMIT_BURST: '2', BREAKWATER_RATE_LIMIT_MAX_WAIT_MS: '0' }),
          DEMAND: '50',
          RUN_MS: '3000',
          CONTROL_CONNECT_PORT: String(upstream.port),
          OTEL_SERVICE_NAME: service,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_METRIC_EXPORT_INTERVAL: '600000',
        },
        60_000,
      );
      const result = await running.done;
      expect(result.code, result.stderr).to.equal(0);
      const reports = result.stdout.split('\n').filter((line) => line.startsWith('{"t"')).map((line) => JSON.parse(line) as Report);
      expect(reports.map((r) => r.decision), 'the fleet decided').to.include('fleet');
      const redisPort = server.port;
      const mentionsRedis = (attributes: Record<string, unknown>): boolean =>
        Object.values(attributes).some((v) => v === redisPort || v === String(redisPort) || (typeof v === 'string' && (v.includes(`:${redisPort}`) || /^rediss?:/.test(v))));
      const spans = receiver.spans;
      const control = spans.filter((s) => s.name === 'tcp.connect' && (s.attributes['net.peer.port'] ?? s.attributes['server.port']) === upstream.port);
      expect(control, "the application's instrumentation records a connection it opens itself").to.have.length(1);
      const redisSpans = spans.filter((s) => mentionsRedis(s.attributes) || /redis|evalsha|script/i.test(s.name));
      expect(redisSpans.map((s) => `${s.name} ${JSON.stringify(s.attributes)}`), 'spans of breakwater\'s Redis connection').to.deep.equal([]);
      const points = metricPoints(receiver.rawBodies);
      const limited = points.filter((p) => p.metric === 'resilience.limited').map((p) => p.attributes['resilience.decision.source']);
      expect(limited, 'resilience.limited says whose rate turned calls away').to.include('fleet');
      const redisPoints = points.filter((p) => mentionsRedis(p.attributes) || p.attributes['db.system'] === 'redis' || p.attributes['db.system.name'] === 'redis');
      expect(redisPoints.map((p) => `${p.metric} ${JSON.stringify(p.attributes)}`), 'metric points of breakwater\'s Redis connection').to.deep.equal([]);
      for (const body of receiver.rawBodies) expect(body).not.to.include(server.password);
    } finally {
      await receiver.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
