import { expect } from 'chai';
import { RequestBody } from '../../../instrumentations/http/request-body.js';

describe('http request body', () => {
  it('keeps every chunk (copies of the caller\'s bytes) within the limit', () => {
    const body = new RequestBody(10);
    const mine = Buffer.from('abc');
    body.add(mine, undefined, undefined, false, false);
    body.add('de', 'utf8', undefined, false, false);
    mine.fill(0); // the caller reuses its buffer
    expect(body.replayable).to.equal(true);
    expect(body.toSend().chunks.map((c) => String(c.data))).to.deep.equal(['abc', 'de']);
  });

  it('past the limit it is sent once: chunks a live request has are forgotten', () => {
    const body = new RequestBody(4);
    body.add('abc', undefined, undefined, false, false);
    body.add('de', undefined, undefined, false, false);
    expect(body.replayable).to.equal(false);
    expect(body.toSend().chunks).to.have.length(0);
  });

  it('past the limit, chunks no request has yet are kept (the next attempt needs them)', () => {
    const body = new RequestBody(4);
    body.add('abc', undefined, undefined, true, false);
    body.add('de', undefined, undefined, true, false);
    expect(body.toSend().chunks.map((c) => c.data)).to.deep.equal(['abc', 'de']);
    body.forgetIfUnreplayable();
    expect(body.toSend().chunks).to.have.length(0);
  });

  it('end(data) alone is sent with end(), so Node keeps Content-Length', () => {
    const body = new RequestBody();
    body.add('{"a":1}', undefined, undefined, false, true);
    body.ended = true;
    const { chunks, endWith } = body.toSend();
    expect([chunks.length, endWith?.data]).to.deep.equal([0, '{"a":1}']);
  });

  it('many tiny writes are joined, in order, keeping chunks whose callback is pending', () => {
    const body = new RequestBody();
    const pending = () => undefined;
    for (let i = 0; i < 1500; i++) body.add(String(i % 10), undefined, i === 700 ? pending : undefined, true, false);
    const { chunks } = body.toSend();
    expect(chunks.length).to.be.below(600);
    expect(chunks.some((c) => c.callback === pending)).to.equal(true);
    const text = chunks.map((c) => (typeof c.data === 'string' ? c.data : c.data.toString('utf8'))).join('');
    expect(text).to.equal(Array.from({ length: 1500 }, (_, i) => String(i % 10)).join(''));
  });
});
