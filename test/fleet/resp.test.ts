import { expect } from 'chai';
import { encodeCommand, RespParser, RespProtocolError, RespReplyError, type RespValue } from '../../src/fleet/resp.js';

function parseAll(bytes: string, chunkSize: number): RespValue[] {
  const parser = new RespParser();
  const data = Buffer.from(bytes, 'utf8');
  const out: RespValue[] = [];
  for (let i = 0; i < data.length; i += chunkSize) out.push(...parser.push(data.subarray(i, i + chunkSize)));
  return out;
}

describe('fleet: RESP2', () => {
  it('encodes a command as an array of bulk strings (UTF-8 lengths in bytes)', () => {
    expect(encodeCommand(['SET', 'k€y', 42, Buffer.from([0, 1])]).toString('latin1')).to.equal(
      '*4\r\n$3\r\nSET\r\n$5\r\nk\u00e2\u0082\u00acy\r\n$2\r\n42\r\n$2\r\n\u0000\u0001\r\n',
    );
    expect(() => encodeCommand(['X', Number.NaN])).to.throw(TypeError, /finite number/);
    expect(() => encodeCommand(['X', {} as unknown as string])).to.throw(TypeError, /object/);
  });

  it('parses every reply type, whole or split at any byte', () => {
    const stream = '+OK\r\n-NOSCRIPT No matching script\r\n:-12\r\n$4\r\nh\u00e9l\r\n$-1\r\n*-1\r\n*3\r\n:1\r\n*2\r\n$0\r\n\r\n-ERR inner\r\n$3\r\nend\r\n*0\r\n';
    for (const size of [1, 2, 3, 7, 1000]) {
      const replies = parseAll(stream, size);
      expect(replies.length, `chunks of ${size}`).to.equal(8);
      expect(replies[0]).to.equal('OK');
      expect(replies[1]).to.be.instanceOf(RespReplyError);
      expect((replies[1] as RespReplyError).code).to.equal('NOSCRIPT');
      expect((replies[1] as RespReplyError).message).to.equal('NOSCRIPT No matching script');
      expect(replies.slice(2, 5)).to.deep.equal([-12, 'h\u00e9l', null]);
      expect(replies[5]).to.equal(null);
      const nested = replies[6] as RespValue[];
      expect(nested[0]).to.equal(1);
      expect((nested[1] as RespValue[])[0]).to.equal('');
      expect(((nested[1] as RespValue[])[1] as RespReplyError).code).to.equal('ERR');
      expect(nested[2]).to.equal('end');
      expect(replies[7]).to.deep.equal([]);
    }
  });

  it('refuses bytes that are not RESP', () => {
    expect(() => new RespParser().push(Buffer.from('?what\r\n'))).to.throw(RespProtocolError, /type byte 0x3f/);
    expect(() => new RespParser().push(Buffer.from(':12x\r\n'))).to.throw(RespProtocolError, /not a RESP integer/);
  });
});
