// breakwater promises it never keeps the process alive: a process under register ends
// within BREAKWATER_SHUTDOWN_TIMEOUT_MS (+ 1 s of slack) of its last work or of the signal,
// whatever the collector does: up, refused, accepting and never answering, or 503.
import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startChild, type ChildResult } from '../helpers/child.js';

const REGISTER = 'breakwater/register';
const APP = 'test/fixtures/exit/app.cjs';
const WORKER_APP = 'test/fixtures/exit/worker-app.cjs';
const TIMEOUT_MS = 500;
const SLACK_MS = 1000;

/** A collector that is not there: a port that was free a moment ago, closed again. */
async function refusedEndpoint(): Promise<{ url: string; close(): Promise<void> }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return { url: `http://127.0.0.1:${port}`, close: async () => {} };
}

/** A collector that accepts connections and never answers. */
async function blackholeEndpoint(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A collector that answers every export 503 (retryable: the exporter retries). */
async function unavailableEndpoint(): Promise<{ url: string; close(): Promise<void>; requests: () => number }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => res.writeHead(503).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Timed {
  result: ChildResult;
  /** From the moment measured from (the `work done` line, or the signal) to the exit. */
  exitAfterMs: number;
}

function envFor(endpoint: string, extra: Record<string, string>): Record<string, string> {
  return {
    OTEL_SERVICE_NAME: 'exit-test',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    BREAKWATER_SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS),
    CALLS: '10',
    ...extra,
  };
}

/** Runs the app until its work is done and it ends by itself; times the exit from the `work done` line. */
async function runToEnd(args: string[], env: Record<string, string>): Promise<Timed> {
  const running = startChild(['--require', REGISTER, ...args], env, 60_000);
  let doneAt = NaN;
  running.child.stdout!.on('data', (chunk: Buffer) => {
    if (Number.isNaN(doneAt) && chunk.toString().includes('work done')) doneAt = performance.now();
  });
  const result = await running.done;
  const exitAfterMs = performance.now() - doneAt;
  return { result, exitAfterMs };
}

/** Runs the app in `serve` mode, sends SIGTERM once its work is done, and times the exit from the signal. */
async function runUntilSignal(env: Record<string, string>): Promise<Timed> {
  const running = startChild(['--require', REGISTER, APP, 'serve'], env, 60_000);
  await new Promise<void>((resolve) => {
    let seen = '';
    running.child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('work done')) resolve();
    });
    void running.done.then(() => resolve());
  });
  const signalledAt = performance.now();
  running.child.kill('SIGTERM');
  const result = await running.done;
  return { result, exitAfterMs: performance.now() - signalledAt };
}

const ENDPOINTS = {
  refused: refusedEndpoint,
  blackholed: blackholeEndpoint,
} as const;

describe('register: the process ends within BREAKWATER_SHUTDOWN_TIMEOUT_MS of its work', function () {
  this.timeout(90_000);

  describe('the collector is up', () => {
    let receiver: OtlpReceiver;
    beforeEach(async () => {
      receiver = await OtlpReceiver.start();
    });
    afterEach(() => receiver.close());

    for (const interval of ['1000', '60000']) {
      it(`work done, then the loop drains: every span received (metric interval ${interval} ms)`, async () => {
        const { result, exitAfterMs } = await runToEnd([APP, 'work'], envFor(receiver.endpoint, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRIC_EXPORT_INTERVAL: interval, CALLS: '40' }));
        expect(result.code, result.stderr).to.equal(0);
        expect(exitAfterMs).to.be.below(TIMEOUT_MS + SLACK_MS);
        expect(receiver.spans.filter((s) => s.resource['service.name'] === 'exit-test')).to.have.length(40);
        expect(receiver.metricNames).to.include('resilience.attempts');
        expect(result.stderr).not.to.include('dropped');
      });

      it(`SIGTERM with the application's own handler: shut down, every span received (metric interval ${interval} ms)`, async () => {
        const { result, exitAfterMs } = await runUntilSignal(envFor(receiver.endpoint, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRIC_EXPORT_INTERVAL: interval, APP_SIGTERM: '1' }));
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout).to.include('app closing');
        expect(exitAfterMs).to.be.below(TIMEOUT_MS + SLACK_MS);
        expect(receiver.spans).to.have.length(10);
      });
    }

    it('SIGTERM without a handler: ends by the signal, as without breakwater, every span received', async () => {
      const { result, exitAfterMs } = await runUntilSignal(envFor(receiver.endpoint, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }));
      expect(result.signal, result.stderr).to.equal('SIGTERM');
      expect(exitAfterMs).to.be.below(TIMEOUT_MS + SLACK_MS);
      expect(receiver.spans).to.have.length(10);
    });
  });

  for (const [name, start] of Object.entries(ENDPOINTS)) {
    describe(`the collector is ${name}`, () => {
      let endpoint: { url: string; close(): Promise<void> };
      beforeEach(async () => {
        endpoint = await start();
      });
      afterEach(() => endpoint.close());

      for (const interval of ['1000', '60000']) {
        it(`work done, then the loop drains (metric interval ${interval} ms); one line says what was dropped`, async () => {
          const { result, exitAfterMs } = await runToEnd([APP, 'work'], envFor(endpoint.url, { OTEL_METRIC_EXPORT_INTERVAL: interval }));
          expect(result.code, result.stderr).to.equal(0);
          expect(exitAfterMs).to.be.below(TIMEOUT_MS + SLACK_MS);
          const lines = result.stderr.split('\n').filter((l) => l.startsWith('breakwater:'));
          expect(lines, result.stderr).to.have.length(1);
          expect(lines[0]).to.match(/^breakwater: telemetry dropped at exit: 10 spans and [1-9]\d* metric exports? not accepted by the collector/);
          expect(lines[0]).not.to.include('127.0.0.1'); // no endpoint (it may carry credentials)
        });

        it(`SIGTERM with the application's own handler (metric interval ${interval} ms)`, async () => {
          const { result, exitAfterMs } = await runUntilSignal(envFor(endpoint.url, { OTEL_METRIC_EXPORT_INTERVAL: interval, APP_SIGTERM: '1' }));
          expect(result.code, result.stderr).to.equal(0);
          expect(exitAfterMs).to.be.below(TIMEOUT_MS + SLACK_MS);
          expect(result.stderr).to.include('breakwater: telemetry dropped at exit: 10 spans');
        });
      }

      it('SIGTERM without a handler: ends by the signal', async () => {
        const { result, exitAfterMs } = await runUntilSignal(envFor(endpoint.url, { OTEL_METRIC_EXPORT_INTERVAL: '1000' }));
        expect(result.signal, result.stderr).to.equal('SIGTERM');
        expect(exitAfterMs).to.be.below(TIMEOUT_MS + SLACK_MS);
      });
    });
  }

  it('the default deadline (2 s) holds too: a blackholed collector, 3,000 calls', async () => {
    const endpoint = await blackholeEndpoint();
    try {
      const env = envFor(endpoint.url, { CALLS: '3000' });
      delete env.BREAKWATER_SHUTDOWN_TIMEOUT_MS;
      const { result, exitAfterMs } = await runToEnd([APP, 'work'], env);
      expect(result.code, result.stderr).to.equal(0);
      expect(exitAfterMs).to.be.below(2000 + SLACK_MS);
      expect(result.stderr).to.match(/telemetry dropped at exit: 3000 spans/);
    } finally {
      await endpoint.close();
    }
  });

  it('a worker thread running register, exporting to a collector that answers 503', async () => {
    const endpoint = await unavailableEndpoint();
    try {
      const { result, exitAfterMs } = await runToEnd([WORKER_APP], envFor(endpoint.url, { OTEL_METRIC_EXPORT_INTERVAL: '1000' }));
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.include('calls 10');
      expect(exitAfterMs).to.be.below(TIMEOUT_MS + SLACK_MS);
      expect(endpoint.requests(), 'the worker did export').to.be.above(0);
    } finally {
      await endpoint.close();
    }
  });
});
