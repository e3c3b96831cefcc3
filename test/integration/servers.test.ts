// Proves the shared real-server infrastructure works: password auth really is
// enforced (28P01, WRONGPASS, NOAUTH), stop() really takes the server away
// (ECONNREFUSED, 57P01 for open sessions) and restart() brings it back on the same port.
import { expect } from 'chai';
import net from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import { postgres, postgresWith, redis, type PgServer, type RedisServer } from './servers.js';

async function pgSelect1(config: pg.ClientConfig): Promise<unknown> {
  const client = new pg.Client({ connectionTimeoutMillis: 5000, ...config });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const res = await client.query<{ one: number }>('select 1 as one');
    return res.rows[0]?.one;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function pgError(config: pg.ClientConfig): Promise<Error & { code?: string }> {
  try {
    await pgSelect1(config);
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the connection to fail');
}

/** An ioredis client that neither retries nor queues: every failure surfaces (and its 'error' events are kept). */
function strictRedis(port: number, password?: string, protocol?: 2 | 3): Redis & { errors: Error[] } {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    ...(protocol !== undefined ? { protocol } : {}),
    ...(password !== undefined ? { password } : {}),
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  const errors: Error[] = [];
  client.on('error', (err: Error) => errors.push(err));
  return Object.assign(client, { errors });
}

async function redisError(run: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await run();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the Redis call to fail');
}

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

describe('integration servers (real PostgreSQL and Redis)', function () {
  let pgServer: PgServer;
  let redisServer: RedisServer;

  before(async function () {
    this.timeout(15 * 60_000); // a fresh machine installs the Debian packages first
    [pgServer, redisServer] = await Promise.all([postgres(), redis()]);
  });

  after(async function () {
    // Leave both servers running for the other suites, even if a test failed midway.
    await Promise.all([pgServer?.start(), redisServer?.start()]);
  });

  describe('postgres()', () => {
    it('is memoized and listens on 127.0.0.1 with a postgresql:// URL', async () => {
      expect(await postgres()).to.equal(pgServer);
      expect(pgServer.host).to.equal('127.0.0.1');
      expect(pgServer.url).to.equal(
        `postgresql://${pgServer.user}:${pgServer.password}@127.0.0.1:${pgServer.port}/${pgServer.database}`,
      );
    });

    it('answers select 1 with password (SCRAM) auth, by fields and by URL', async () => {
      const { host, port, user, password, database } = pgServer;
      expect(await pgSelect1({ host, port, user, password, database })).to.equal(1);
      expect(await pgSelect1({ connectionString: pgServer.url })).to.equal(1);
      const client = new pg.Client({ connectionString: pgServer.admin.url });
      await client.connect();
      try {
        const res = await client.query<{ method: string }>(
          "select auth_method as method from pg_hba_file_rules where type = 'host' limit 1",
        );
        expect(res.rows[0]?.method).to.equal('scram-sha-256');
      } finally {
        await client.end();
      }
    });

    it('rejects a wrong password with SQLSTATE 28P01', async () => {
      const { host, port, user, database } = pgServer;
      const err = await pgError({ host, port, user, database, password: 'not-the-password' });
      expect(err.code).to.equal('28P01');
    });

    it('gives the test user no superuser rights (so 42501 can be provoked)', async () => {
      const client = new pg.Client({ connectionString: pgServer.url });
      await client.connect();
      try {
        const err = await client.query('select * from pg_authid').then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        );
        expect(err?.code).to.equal('42501');
      } finally {
        await client.end();
      }
    });

    it('stop() takes it away (57P01 for open sessions, then ECONNREFUSED); start() brings it back on the same port', async function () {
      this.timeout(30_000);
      const port = pgServer.port;
      const open = new pg.Client({ connectionString: pgServer.url });
      await open.connect();
      const errors: Array<Error & { code?: string }> = [];
      const dropped = new Promise<void>((resolve) =>
        open.on('error', (err) => {
          errors.push(err);
          resolve();
        }),
      );

      await pgServer.stop();
      await dropped;
      expect(errors[0]?.code).to.equal('57P01'); // terminating connection due to administrator command
      await open.end().catch(() => undefined);
      expect((await pgError({ connectionString: pgServer.url })).code).to.equal('ECONNREFUSED');

      await pgServer.start();
      expect(pgServer.port).to.equal(port);
      expect(await pgSelect1({ connectionString: pgServer.url })).to.equal(1);

      await pgServer.restart();
      expect(pgServer.port).to.equal(port);
      expect(await pgSelect1({ connectionString: pgServer.url })).to.equal(1);
    });
  });

  describe('postgresWith()', () => {
    it('starts a server of its own with the settings given: max_connections 5 turns the 3rd connection of a non-superuser away with 53300', async function () {
      this.timeout(60_000);
      const small = await postgresWith({ max_connections: 5 });
      expect(small.port).to.not.equal(pgServer.port);
      const clients: pg.Client[] = [];
      try {
        // 5 slots, 3 of them kept for superusers (superuser_reserved_connections): 2 for
        // the test user, while no superuser holds one (a superuser's session counts too).
        for (let i = 0; i < 2; i++) {
          const client = new pg.Client({ connectionString: small.url });
          clients.push(client);
          await client.connect();
        }
        expect((await pgError({ connectionString: small.url })).code).to.equal('53300');
        const admin = new pg.Client({ connectionString: small.admin.url });
        clients.push(admin);
        await admin.connect();
        expect((await admin.query<{ max_connections: string }>('show max_connections')).rows[0]?.max_connections).to.equal('5');
      } finally {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      }
      // The shared server keeps its own settings.
      expect(await pgSelect1({ connectionString: pgServer.url })).to.equal(1);
    });

    it('refuses a setting postgres would read as something else', async () => {
      let error: unknown;
      await postgresWith({ 'max_connections=5 -c x': 1 }).catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/not a PostgreSQL setting/);
    });
  });

  describe('redis()', () => {
    it('is memoized and listens on 127.0.0.1 with a redis:// URL', async () => {
      expect(await redis()).to.equal(redisServer);
      expect(redisServer.host).to.equal('127.0.0.1');
      expect(redisServer.url).to.equal(`redis://:${redisServer.password}@127.0.0.1:${redisServer.port}`);
    });

    it('answers PING through ioredis with the password, by options and by URL', async () => {
      const client = strictRedis(redisServer.port, redisServer.password);
      try {
        await client.connect();
        expect(await client.ping()).to.equal('PONG');
      } finally {
        client.disconnect();
      }
      const byUrl = new Redis(redisServer.url, { lazyConnect: true });
      try {
        await byUrl.connect();
        expect(await byUrl.ping()).to.equal('PONG');
      } finally {
        byUrl.disconnect();
      }
    });

    it('answers NOAUTH without a password and WRONGPASS with a wrong one', async () => {
      // RESP2: the connection opens and the command itself gets NOAUTH.
      const anonymous = strictRedis(redisServer.port, undefined, 2);
      try {
        await anonymous.connect();
        const err = await redisError(() => anonymous.ping());
        expect(err.message).to.match(/^NOAUTH/);
      } finally {
        anonymous.disconnect();
      }
      // ioredis 6 defaults to RESP3: HELLO 3 gets NOAUTH, reported as an 'error' event, and connect fails.
      const resp3 = strictRedis(redisServer.port);
      try {
        await redisError(() => resp3.connect());
        expect(resp3.errors.some((e) => e.message.startsWith('NOAUTH'))).to.equal(true);
      } finally {
        resp3.disconnect();
      }
      const wrong = strictRedis(redisServer.port, 'not-the-password');
      try {
        // ioredis reports the AUTH reply as an 'error' event and fails the connect.
        await redisError(() => wrong.connect());
        expect(wrong.errors.some((e) => e.message.startsWith('WRONGPASS'))).to.equal(true);
      } finally {
        wrong.disconnect();
      }
    });

    it('stop() refuses connections (ECONNREFUSED); restart() brings it back on the same port', async function () {
      this.timeout(30_000);
      const port = redisServer.port;
      await redisServer.stop();
      expect(await connectError(port)).to.equal('ECONNREFUSED');
      const down = strictRedis(port, redisServer.password);
      try {
        await redisError(() => down.connect()); // rejects with "Connection is closed."; the cause is in 'error'
        expect(down.errors.map((e) => (e as NodeJS.ErrnoException).code)).to.include('ECONNREFUSED');
      } finally {
        down.disconnect();
      }

      await redisServer.restart(); // from stopped: just starts
      expect(redisServer.port).to.equal(port);
      await redisServer.restart(); // from running: stop then start
      const up = strictRedis(port, redisServer.password);
      try {
        await up.connect();
        expect(await up.ping()).to.equal('PONG');
      } finally {
        up.disconnect();
      }
    });
  });
});
