/**
 * Raw transactions sent through `client.sendCommand(['MULTI'])`: until EXEC, DISCARD
 * or RESET, every command on that connection is queued inside the transaction by the
 * server, whichever code path sends it (node-redis multiplexes one connection). A
 * retry of such a command on the reconnected connection would run it outside the
 * transaction, so while one is open nothing sent on the client is replayed.
 *
 * `multi().exec()` does not come through here: the adapter wraps it as one call.
 * The socket epoch (node-redis 5+) tells a transaction that died with its connection
 * apart from one still open: the server forgets MULTI when the connection closes.
 */
const OPENS: ReadonlySet<string> = new Set(['MULTI']);
const CLOSES: ReadonlySet<string> = new Set(['EXEC', 'DISCARD', 'RESET']);

interface EpochSource {
  readonly socketEpoch?: unknown;
}

export class RawTransactions {
  /** The socket epoch the MULTI was sent on, per client (its `_self`). */
  private readonly open = new WeakMap<object, unknown>();

  /** Notes a command about to be sent; `name` is the upper-cased first word. */
  sending(client: object, name: string): void {
    // Not ready yet: the MULTI waits in the offline queue and goes out on a later
    // connection; count it open until EXEC or DISCARD, whatever the epoch.
    if (OPENS.has(name)) this.open.set(client, isReady(client) ? epochOf(client) : undefined);
    else if (CLOSES.has(name)) this.open.delete(client);
  }

  /** Whether a MULTI sent on the client's current connection is still open. */
  isOpen(client: object): boolean {
    if (!this.open.has(client)) return false;
    const epoch = this.open.get(client);
    return epoch === undefined || epoch === epochOf(client);
  }
}

function isReady(client: object): boolean {
  try {
    return (client as { isReady?: unknown }).isReady === true;
  } catch {
    return false;
  }
}

function epochOf(client: object): unknown {
  try {
    return (client as EpochSource).socketEpoch;
  } catch {
    return undefined;
  }
}
