import { expect } from 'chai';
import { compileGlob, globMatches } from '../../src/util/glob.js';

describe('glob', () => {
  it('matches target keys with * across : and /', () => {
    expect(globMatches('https://*.example.com:*', 'https://api.example.com:443')).to.equal(true);
    expect(globMatches('postgresql://db:5432/*', 'postgresql://db:5432/app')).to.equal(true);
    expect(globMatches('redis://cache:6379/0', 'redis://cache:6379/1')).to.equal(false);
  });
  it('treats regex metacharacters literally and ? as one character', () => {
    expect(compileGlob('a.b+c').test('axb+c')).to.equal(false);
    expect(compileGlob('a.b+c').test('a.b+c')).to.equal(true);
    expect(compileGlob('redis://h:637?').test('redis://h:6379')).to.equal(true);
    expect(compileGlob('redis://h:637?').test('redis://h:63790')).to.equal(false);
  });
});
