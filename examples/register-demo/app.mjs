// A small service that knows nothing of breakwater: plain fetch, node:http, pg and
// ioredis calls. run.mjs starts it under `node --import breakwater/register app.mjs`.
import http from 'node:http';

const api = process.env.DEMO_API;
const pgUrl = process.env.DEMO_PG_URL;
const redisUrl = process.env.DEMO_REDIS_URL;
const seconds = Number(process.env.DEMO_SECONDS ?? 14);

const say = (line) => console.log(`app  ${line}`);
const failed = (err) => `failed: ${err.code ?? err.name}${err.message ? ` (${err.message.slice(0, 60)})` : ''}`;

function postWithKey(path, key) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${api}${path}`, { method: 'POST', headers: { 'idempotency-key': key, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ amount: 42 }));
  });
}

let db;
let cache;
if (pgUrl) {
  const { default: pg } = await import('pg');
  db = new pg.Pool({ connectionString: pgUrl, max: 2 });
  db.on('error', () => {}); // an idle client's lost connection: the pool replaces it
  await db.query('CREATE TABLE IF NOT EXISTS demo_orders (id serial PRIMARY KEY, at timestamptz DEFAULT now())');
}
if (redisUrl) {
  const { default: Redis } = await import('ioredis');
  cache = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  cache.on('error', () => {}); // reconnects are logged by breakwater's telemetry, not here
  await cache.set('demo:greeting', 'hello');
}

const end = Date.now() + seconds * 1000;
for (let n = 1; Date.now() < end; n++) {
  const step = [];
  step.push(
    fetch(`${api}/price`)
      .then(async (res) => say(`fetch GET /price -> ${res.status} ${res.status < 300 ? await res.text() : ''}`))
      .catch((err) => say(`fetch GET /price ${failed(err)}`)),
  );
  if (n % 3 === 0) {
    step.push(
      fetch(`${api}/orders`, { method: 'POST', body: JSON.stringify({ n }) })
        .then((res) => say(`fetch POST /orders (no Idempotency-Key) -> ${res.status}`))
        .catch((err) => say(`fetch POST /orders (no Idempotency-Key) ${failed(err)}`)),
    );
    step.push(
      postWithKey('/payments', `pay-${n}`)
        .then((status) => say(`http POST /payments (Idempotency-Key pay-${n}) -> ${status}`))
        .catch((err) => say(`http POST /payments (Idempotency-Key pay-${n}) ${failed(err)}`)),
    );
  }
  if (db && n % 2 === 0) {
    step.push(
      db.query('SELECT count(*)::int AS n FROM demo_orders').then((r) => say(`pg SELECT count(*) -> ${r.rows[0].n}`), (err) => say(`pg SELECT ${failed(err)}`)),
      db.query('INSERT INTO demo_orders DEFAULT VALUES').then(() => say('pg INSERT -> 1 row'), (err) => say(`pg INSERT ${failed(err)}`)),
    );
  }
  if (cache && n % 2 === 1) {
    step.push(
      cache.get('demo:greeting').then((v) => say(`redis GET -> ${v}`), (err) => say(`redis GET ${failed(err)}`)),
      cache.incr('demo:visits').then((v) => say(`redis INCR -> ${v}`), (err) => say(`redis INCR ${failed(err)}`)),
    );
  }
  await Promise.all(step);
  await new Promise((r) => setTimeout(r, 250));
}
await db?.end();
cache?.disconnect();
