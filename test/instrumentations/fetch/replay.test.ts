import { Readable } from 'node:stream';
import { expect } from 'chai';
import { fetchReplayDecision } from '../../../instrumentations/fetch/replay.js';
import { MAX_REPLAYABLE_BODY_BYTES } from '../../../instrumentations/http/replay.js';

describe('fetchReplayDecision', () => {
  const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' });
  const decide = (method: string, body: unknown, extra: { headers?: unknown; mark?: boolean } = {}, failure: unknown = reset) =>
    fetchReplayDecision({ method, body, headers: extra.headers, idempotencyMark: extra.mark }, failure);

  it('idempotent methods with replayable bodies, keyed POSTs and never-sent POSTs are replayed', () => {
    expect(decide('GET', undefined)).to.equal(true);
    expect(decide('put', new Blob(['x']))).to.equal(true);
    expect(decide('POST', 'x', { headers: { 'Idempotency-Key': 'k' } })).to.equal(true);
    expect(decide('POST', 'x', {}, refused)).to.equal(true);
    expect(decide('POST', 'x', { mark: true })).to.equal(true);
  });

  it('streams, oversized bodies, unkeyed POSTs after an ambiguous failure and idempotent(fn, false) are not', () => {
    expect(decide('POST', 'x')).to.equal('not_idempotent');
    expect(decide('PUT', Readable.from(['x']))).to.equal('not_idempotent');
    expect(decide('PUT', new ReadableStream(), {}, refused)).to.equal('not_idempotent');
    expect(decide('PUT', Buffer.alloc(MAX_REPLAYABLE_BODY_BYTES + 1))).to.equal('not_idempotent');
    expect(decide('GET', undefined, { mark: false })).to.equal('not_idempotent');
  });
});
