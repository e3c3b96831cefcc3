// A fault-injecting TCP proxy (node:net) that sits between a real client and a real
// server. The fault matrix needs failures a mock cannot fake: an OS-level
// ECONNREFUSED, a real TCP RST (ECONNRESET) before or after the request reached the
// server, a response cut in the middle, added latency, and a peer that never answers.
//
// Semantics:
// - Each connection keeps the fault that was in force when it was accepted;
//   setFault() only affects later connections (resetAll() hits every open one).
// - 'refuse' closes the listening socket (the OS answers new connects with RST:
//   real ECONNREFUSED); setting any other fault listens again on the same port.
// - Cuts use socket.resetAndDestroy() (SO_LINGER 0), so clients see ECONNRESET.
// - 'reset_after_request': client bytes are forwarded (whole chunks, so a request is
//   never truncated) and responses pass through until at least `afterBytes` client
//   bytes (default 1: the first chunk) have been sent upstream; then nothing more is
//   forwarded, and as soon as the server starts answering (proof that it processed
//   the request; at most RESPONSE_WAIT_MS later) the client gets a RST. Use
//   stats().bytesToUpstream on a clean connection to measure a protocol's handshake
//   (pg, Redis AUTH) and cut the first request after it.
// - 'cut_mid_response': server bytes are forwarded up to exactly `afterBytes`
//   (counted from the first byte the server sends on the connection), then RST.
// - If the upstream refuses or resets, the client gets a RST.
import net from 'node:net';

export type Fault = FaultKind & {
  /**
   * Only the next N connections accepted get this fault; then the proxy is back to
   * 'none' by itself, before the client can dial again (a test clearing the fault by
   * hand races with a quick retry). Not for 'refuse', which accepts nothing.
   */
  connections?: number;
};

type FaultKind =
  | { kind: 'none' }
  | { kind: 'refuse' } // stop listening: new connects get ECONNREFUSED (re-listen on the same port when fault cleared)
  | { kind: 'reset_on_connect' } // accept, then RST at once (socket.resetAndDestroy()) before any byte is forwarded
  | { kind: 'reset_after_request'; afterBytes?: number } // forward the client's first request bytes to the server, then RST the client without forwarding any response
  | { kind: 'cut_mid_response'; afterBytes: number } // forward the response up to N bytes, then RST the client
  | { kind: 'delay'; ms: number } // delay every chunk in both directions by ms
  | { kind: 'blackhole' }; // accept and read, never forward or answer

export interface FaultProxyStats {
  /** Connections accepted since start. */
  connections: number;
  /** Client connections currently open. */
  open: number;
  /** Bytes written to the upstream server, all connections. */
  bytesToUpstream: number;
  /** Bytes written back to clients, all connections. */
  bytesToClient: number;
}

export interface FaultProxy {
  host: string;
  port: number;
  setFault(f: Fault): Promise<void>;
  /** RST every open connection now */
  resetAll(): void;
  /** bytes/connections counters */
  stats(): FaultProxyStats;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
/** reset_after_request: longest wait for the server's answer before the RST. */
const RESPONSE_WAIT_MS = 1000;

interface Conn {
  client: net.Socket;
  upstream: net.Socket | undefined;
  timers: Set<NodeJS.Timeout>;
  closed: Promise<void>;
}

function validate(f: Fault): void {
  const bad = (what: string): never => {
    throw new TypeError(`invalid fault ${JSON.stringify(f)}: ${what}`);
  };
  if (f.connections !== undefined) {
    if (!(Number.isInteger(f.connections) && f.connections >= 1)) bad('connections must be an integer >= 1');
    if (f.kind === 'refuse' || f.kind === 'none') bad(`connections does not apply to '${f.kind}'`);
  }
  switch (f.kind) {
    case 'none':
    case 'refuse':
    case 'reset_on_connect':
    case 'blackhole':
      return;
    case 'reset_after_request':
      if (f.afterBytes !== undefined && !(Number.isInteger(f.afterBytes) && f.afterBytes >= 1)) bad('afterBytes must be an integer >= 1');
      return;
    case 'cut_mid_response':
      if (!(Number.isInteger(f.afterBytes) && f.afterBytes >= 0)) bad('afterBytes must be an integer >= 0');
      return;
    case 'delay':
      if (!(Number.isFinite(f.ms) && f.ms >= 0)) bad('ms must be a finite number >= 0');
      return;
    default:
      bad('unknown kind');
  }
}

export async function startFaultProxy(
  upstream: { host: string; port: number },
  options: { port?: number } = {},
): Promise<FaultProxy> {
  let fault: Fault = { kind: 'none' };
  /** Connections left for a fault limited to a number of them. */
  let faultyConnectionsLeft = Infinity;
  let server: net.Server | undefined;
  let port = options.port ?? 0;
  let closed = false;
  const conns = new Set<Conn>();
  const counters = { connections: 0, bytesToUpstream: 0, bytesToClient: 0 };

  function listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer({ allowHalfOpen: true }, onConnection);
      srv.once('error', reject);
      srv.listen(port, HOST, () => {
        srv.removeListener('error', reject);
        srv.on('error', () => undefined);
        port = (srv.address() as net.AddressInfo).port;
        server = srv;
        resolve();
      });
    });
  }

  function unlisten(): void {
    // net.Server.close() closes the listening fd at once (new connects are refused
    // from here on); its callback would wait for open connections, so we don't.
    server?.close();
    server = undefined;
  }

  function onConnection(client: net.Socket): void {
    counters.connections++;
    const f = fault;
    if (--faultyConnectionsLeft === 0) fault = { kind: 'none' };
    let markClosed!: () => void;
    const conn: Conn = {
      client,
      upstream: undefined,
      timers: new Set(),
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
    };
    conns.add(conn);
    client.on('error', () => undefined);
    client.once('close', () => {
      conns.delete(conn);
      clearTimers(conn);
      conn.upstream?.destroy();
      markClosed();
    });
    if (closed) {
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    switch (f.kind) {
      case 'refuse': // raced with the listener closing
      case 'reset_on_connect':
        client.resetAndDestroy();
        return;
      case 'blackhole':
        client.resume(); // read and drop everything
        client.on('end', () => client.destroy());
        return;
      default:
        forward(conn, f);
    }
  }

  function clearTimers(conn: Conn): void {
    for (const t of conn.timers) clearTimeout(t);
    conn.timers.clear();
  }

  function later(conn: Conn, ms: number, action: () => void): void {
    if (ms <= 0) {
      action();
      return;
    }
    const t = setTimeout(() => {
      conn.timers.delete(t);
      action();
    }, ms);
    conn.timers.add(t);
  }

  function forward(conn: Conn, f: Fault): void {
    const { client } = conn;
    const up = net.connect({ host: upstream.host, port: upstream.port, allowHalfOpen: true });
    conn.upstream = up;
    up.setNoDelay(true);
    up.on('error', () => undefined);
    const lag = f.kind === 'delay' ? f.ms : 0;
    let cut = false; // nothing more is forwarded on this connection
    let done = false;

    const reset = (): void => {
      if (done) return;
      done = cut = true;
      clearTimers(conn);
      client.resetAndDestroy();
      up.destroy();
    };

    // Writes with backpressure: a full destination pauses the source until it drains.
    const send = (src: net.Socket, dst: net.Socket, chunk: Buffer, cb?: () => void): void => {
      if (dst.destroyed) return;
      if (dst === up) counters.bytesToUpstream += chunk.length;
      else counters.bytesToClient += chunk.length;
      if (!dst.write(chunk, cb) && !src.isPaused()) {
        src.pause();
        dst.once('drain', () => src.resume());
      }
    };
    const toUpstream = (chunk: Buffer): void => send(client, up, chunk);
    const toClient = (chunk: Buffer, cb?: () => void): void => send(up, client, chunk, cb);

    // Client -> server.
    let sentUp = 0;
    let awaitingAnswer = false;
    client.on('data', (chunk: Buffer) => {
      if (cut || awaitingAnswer) return;
      if (f.kind === 'reset_after_request') {
        sentUp += chunk.length;
        toUpstream(chunk);
        if (sentUp >= (f.afterBytes ?? 1)) {
          awaitingAnswer = true;
          later(conn, RESPONSE_WAIT_MS, reset);
        }
        return;
      }
      later(conn, lag, () => toUpstream(chunk));
    });
    client.on('end', () => later(conn, lag, () => !up.destroyed && up.end()));

    // Server -> client.
    let sentDown = 0;
    up.on('data', (chunk: Buffer) => {
      if (cut) return;
      if (awaitingAnswer) {
        reset(); // the server answered: the request took effect; the client never learns it
        return;
      }
      if (f.kind === 'cut_mid_response') {
        const room = f.afterBytes - sentDown;
        if (chunk.length < room) {
          sentDown += chunk.length;
          toClient(chunk);
          return;
        }
        // This chunk reaches the limit: deliver exactly what fits, then RST.
        cut = true;
        if (room > 0) {
          sentDown += room;
          toClient(chunk.subarray(0, room), reset);
        } else reset();
        return;
      }
      later(conn, lag, () => toClient(chunk));
    });
    up.on('end', () => {
      if (cut) return;
      if (awaitingAnswer) reset();
      else later(conn, lag, () => !client.destroyed && client.end());
    });
    up.once('close', (hadError) => {
      if (hadError) reset(); // upstream refused or reset: so does the proxy
    });
  }

  const ops: { chain: Promise<unknown> } = { chain: Promise.resolve() };
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const next = ops.chain.then(op);
    ops.chain = next.catch(() => undefined);
    return next;
  };

  await listen();

  return {
    host: HOST,
    get port() {
      return port;
    },
    setFault(f: Fault): Promise<void> {
      return serial(async () => {
        validate(f);
        if (closed) throw new Error('fault proxy is closed');
        fault = f;
        faultyConnectionsLeft = f.connections ?? Infinity;
        if (f.kind === 'refuse') unlisten();
        else if (!server) await listen();
      });
    },
    resetAll(): void {
      for (const conn of conns) {
        clearTimers(conn);
        conn.client.resetAndDestroy();
        conn.upstream?.destroy();
      }
    },
    stats(): FaultProxyStats {
      return { ...counters, open: conns.size };
    },
    close(): Promise<void> {
      return serial(async () => {
        if (closed) return;
        closed = true;
        const srv = server;
        unlisten();
        const waits = [...conns].map((c) => c.closed);
        for (const conn of conns) {
          clearTimers(conn);
          conn.client.destroy();
          conn.upstream?.destroy();
        }
        if (srv) waits.push(new Promise<void>((resolve) => srv.once('close', () => resolve())));
        await Promise.all(waits);
      });
    },
  };
}
