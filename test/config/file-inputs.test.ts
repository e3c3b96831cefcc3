import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runChild } from '../helpers/child.js';

/**
 * BREAKWATER_CONFIG pointed at what is no configuration file, in real processes: start-up
 * under breakwater/register and `breakwater config` must each end with exit status 1
 * and a message naming the file and the problem, quoting none of its content. Before
 * these limits, /dev/zero and a FIFO hung start-up, 50 MB took seconds and gigabytes,
 * 200,000 keys parsed for more than 10 minutes, 100,000 `[` overflowed the stack, and
 * a .env file or /proc/self/environ had its first 77 characters printed.
 *
 * A hang shows as the child's timeout (10 s, generous: these fail within a second;
 * the figures are in the report, measured outside the tests).
 */

const SECRET = 'hunter2-planted-secret';
const CHILD_TIMEOUT_MS = 10_000;

interface Input {
  readonly name: string;
  /** The path given in BREAKWATER_CONFIG. */
  path(): string;
  /** The problem the message must state. */
  readonly problem: RegExp;
  /** Text of the file that must never be printed. */
  readonly content: readonly string[];
  readonly env?: Record<string, string>;
}

const FORMS: ReadonlyArray<readonly [string, string[]]> = [
  ['node --require breakwater/register', ['--require', 'breakwater/register', '-e', '']],
  ['breakwater config', [join(REPO_ROOT, 'bin', 'breakwater.cjs'), 'config']],
];

describe('config file: what is not a configuration file is refused at start-up, fast and without echoing it', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bw-config-inputs-'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    mkdirSync(join(dir, 'a-directory'));
    writeFileSync(join(dir, 'big.yaml'), `name: "${'x'.repeat(50 * 1024 * 1024)}"\n`);
    writeFileSync(join(dir, 'keys.yaml'), Array.from({ length: 200_000 }, (_, i) => `key${i}: 1`).join('\n'));
    writeFileSync(join(dir, 'keys-small.yaml'), Array.from({ length: 20_000 }, (_, i) => `key${i}: 1`).join('\n'));
    writeFileSync(join(dir, 'brackets.yaml'), '['.repeat(100_000));
    writeFileSync(join(dir, 'dashes.yaml'), `${'- '.repeat(500_000)}x\n`);
    writeFileSync(join(dir, 'app.env'), `DB_USER=admin\nDB_PASSWORD=${SECRET}\nAPI_TOKEN=${SECRET}-token\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const inputs: Input[] = [
    { name: '/dev/zero', path: () => '/dev/zero', problem: /"\/dev\/zero": \/dev\/zero is a character device: expected a regular file/, content: ['\u0000'] },
    { name: 'a FIFO', path: () => join(dir, 'fifo'), problem: /fifo is a FIFO \(named pipe\): expected a regular file/, content: [] },
    { name: 'a directory', path: () => join(dir, 'a-directory'), problem: /a-directory is a directory: expected a regular file/, content: [] },
    { name: 'a 50 MB file', path: () => join(dir, 'big.yaml'), problem: /big\.yaml is too large \(\d+ bytes\): at most 1048576 bytes \(1 MiB\) are read/, content: ['xxxx'] },
    { name: '200,000 keys (4 MB)', path: () => join(dir, 'keys.yaml'), problem: /keys\.yaml is too large/, content: ['key1'] },
    { name: '20,000 keys in 200 KB', path: () => join(dir, 'keys-small.yaml'), problem: /keys-small\.yaml:\d+:\d+: more than 10000 keys and list items/, content: ['key1'] },
    { name: '100,000 nested [', path: () => join(dir, 'brackets.yaml'), problem: /brackets\.yaml:1:65: more than 64 levels of \[ and \{ nested/, content: ['[['] },
    { name: '500,000 nested - on one line', path: () => join(dir, 'dashes.yaml'), problem: /dashes\.yaml:1:129: more than 64 nested - or \? on one line/, content: ['- -'] },
    {
      name: 'a .env file with DB_PASSWORD',
      path: () => join(dir, 'app.env'),
      problem: /app\.env:1: \(top level\): a text value is not accepted: expected a mapping/,
      content: [SECRET, 'DB_PASSWORD', 'DB_USER=', 'admin'],
    },
    {
      name: '/proc/self/environ with a planted variable',
      path: () => '/proc/self/environ',
      problem: /\/proc\/self\/environ:1:\d+: a control character \(U\+0000\) is not accepted: expected YAML or JSON text/,
      content: [SECRET, 'PLANTED_SECRET', 'PATH='],
      env: { PLANTED_SECRET: SECRET },
    },
  ];

  for (const input of inputs) {
    for (const [form, args] of FORMS) {
      it(`${input.name}: ${form} exits 1 naming the file and the problem, quoting none of it`, async () => {
        const result = await runChild(args, { ...input.env, BREAKWATER_CONFIG: input.path() }, CHILD_TIMEOUT_MS);
        expect(result.code, result.stderr).to.equal(1);
        expect(result.stderr).to.match(input.problem);
        expect(result.stdout).to.equal('');
        for (const text of input.content) expect(result.stderr, `quotes ${JSON.stringify(text)}`).not.to.include(text);
        expect(result.stderr).not.to.match(/^\s+at /m); // a message, not a stack trace
      });
    }
  }
});
