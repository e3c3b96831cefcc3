import { expect } from 'chai';
import { inspect } from 'node:util';
import { credentialsOf, parseRedisUrl, RedisUrlError } from '../../src/fleet/redis-url.js';

const PASSWORD = 's3cr3t-p@ss/word';
const ENCODED = encodeURIComponent(PASSWORD);

function failure(url: string): RedisUrlError {
  try {
    parseRedisUrl(url);
  } catch (err) {
    expect(err).to.be.instanceOf(RedisUrlError);
    return err as RedisUrlError;
  }
  throw new Error(`${url} was accepted`);
}

describe('fleet: parseRedisUrl', () => {
  it('reads host, port, database and TLS, with defaults', () => {
    const plain = parseRedisUrl('redis://cache.internal');
    expect({ tls: plain.tls, host: plain.host, port: plain.port, db: plain.db }).to.deep.equal({ tls: false, host: 'cache.internal', port: 6379, db: 0 });
    const full = parseRedisUrl('rediss://Cache.Example.COM:7000/3');
    expect({ tls: full.tls, host: full.host, port: full.port, db: full.db }).to.deep.equal({ tls: true, host: 'cache.example.com', port: 7000, db: 3 });
    expect(parseRedisUrl('redis://127.0.0.1:6380/').db).to.equal(0);
    const v6 = parseRedisUrl('redis://[::1]:7001/2');
    expect(v6.host).to.equal('::1');
    expect(v6.describe()).to.equal('redis://[::1]:7001/2');
  });

  it('keeps the password alone, or a user and a password, out of the endpoint', () => {
    const withPassword = parseRedisUrl(`redis://:${ENCODED}@127.0.0.1:6379/1`);
    expect(credentialsOf(withPassword)).to.deep.equal({ username: undefined, password: PASSWORD });
    const withUser = parseRedisUrl(`rediss://fleet-user:${ENCODED}@redis.example:6380`);
    expect(credentialsOf(withUser)).to.deep.equal({ username: 'fleet-user', password: PASSWORD });
    expect(credentialsOf(parseRedisUrl('redis://h'))).to.equal(undefined);
    for (const endpoint of [withPassword, withUser]) {
      const shown = [
        endpoint.describe(),
        String(endpoint),
        `${endpoint}`,
        JSON.stringify(endpoint),
        JSON.stringify({ endpoint }),
        inspect(endpoint, { showHidden: true, depth: 10 }),
        Object.keys(endpoint).join(','),
      ].join('\n');
      expect(shown).to.not.include(PASSWORD).and.not.include(ENCODED).and.not.include('fleet-user');
    }
    expect(withPassword.describe()).to.equal('redis://127.0.0.1:6379/1');
    expect(withUser.describe()).to.equal('rediss://redis.example:6380/0');
  });

  it('refuses what it cannot honour, and no message repeats the URL or its password', () => {
    const bad = [
      `http://:${ENCODED}@host:6379`,
      `redis://:${ENCODED}@host:0`,
      `redis://:${ENCODED}@host:99999`,
      `redis://:${ENCODED}@host/x`,
      `redis://:${ENCODED}@host/1/2`,
      `redis://:${ENCODED}@host/99999999999`,
      `redis://:${ENCODED}@host?db=2`,
      `redis://:${ENCODED}@host#frag`,
      `redis://:${ENCODED}@`,
      `redis://:${ENCODED}@ho%20st`,
      `redis://:%E0%A4%A@host`,
      `redis://user-without-password@host`,
      `not a url ${PASSWORD}`,
    ];
    for (const url of bad) {
      const err = failure(url);
      expect(err.message, url).to.match(/^invalid Redis URL: /);
      expect(err.message, url).to.not.include(PASSWORD).and.not.include(ENCODED).and.not.include('%E0');
      expect(err.cause, url).to.equal(undefined);
      expect(inspect(err), url).to.not.include(PASSWORD).and.not.include(ENCODED);
    }
    expect(failure(`redis://:${ENCODED}@host?db=2`).message).to.include('query strings');
    expect(failure('redis://user-without-password@host').message).to.include('needs a password');
    expect(() => parseRedisUrl(42 as unknown as string)).to.throw(RedisUrlError, /not a string/);
  });
});
