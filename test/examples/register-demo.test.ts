// The README's first command runs this demo (`npm run demo`): it must keep working and
// keep showing what it promises: retries, a suppressed retry and why, breaker
// transitions, and the patterns the in-process detector finds.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChild, type ChildResult } from '../helpers/child.js';
import { postgres, redis } from '../integration/servers.js';

describe('the register demo (npm run demo)', function () {
  this.timeout(150_000);
  let run: ChildResult;
  let output = '';
  let pgPassword = '';

  /**
   * The demo starts its own PostgreSQL with a random password and hands the app its URL
   * in DEMO_PG_URL (run.mjs, the app's spawn env). This preload, for the demo's process
   * only, copies that URL into a file as the app is spawned: never into the output the
   * test inspects.
   */
  function capturingPreload(file: string): string {
    const source = `
      import childProcess from 'node:child_process';
      import fs from 'node:fs';
      import { syncBuiltinESMExports } from 'node:module';
      const spawn = childProcess.spawn;
      childProcess.spawn = function (command, args, options) {
        const url = options?.env?.DEMO_PG_URL;
        if (url) fs.writeFileSync(${JSON.stringify(file)}, url);
        return spawn.apply(this, arguments);
      };
      syncBuiltinESMExports();`;
    return `data:text/javascript,${encodeURIComponent(source)}`;
  }

  before(async () => {
    // The demo uses PostgreSQL and Redis when installed: make sure they are (apt-get when missing).
    await postgres();
    await redis();
    const captured = path.join(await fs.promises.mkdtemp(path.join(os.tmpdir(), 'bw-demo-')), 'pg-url');
    run = await runChild(['--import', capturingPreload(captured), 'examples/register-demo/run.mjs'], { DEMO_SECONDS: '30' }, 120_000);
    output = run.stdout + run.stderr;
    pgPassword = decodeURIComponent(new URL(await fs.promises.readFile(captured, 'utf8')).password);
    await fs.promises.rm(path.dirname(captured), { recursive: true, force: true });
  });

  it('runs to the end and exits 0', () => {
    expect(run.code, output.slice(-3000)).to.equal(0);
    expect(output).to.match(/app exited with 0/);
  });

  it('shows a GET retried after a failure and a POST without Idempotency-Key not retried', () => {
    expect(output).to.match(/attempt 2 GET http:\/\/127\.0\.0\.1:\d+/);
    expect(output).to.match(/no retry: not_idempotent/);
  });

  it('shows breakers opening and closing again for HTTP and Redis', () => {
    for (const scheme of ['http', 'redis']) {
      expect(output, scheme).to.match(new RegExp(`BREAKER ${scheme}://127\\.0\\.0\\.1:\\d+\\S*: closed -> open`));
      expect(output, scheme).to.match(new RegExp(`BREAKER ${scheme}://127\\.0\\.0\\.1:\\d+\\S*: half_open -> closed`));
    }
  });

  it('shows pg calls going through breakwater', () => {
    expect(output).to.match(/postgresql:\/\/127\.0\.0\.1:\d+\/\w+/);
  });

  it('shows the detector finding the HTTP and Redis breakers stuck open during the outage (time-scaled minutes)', () => {
    for (const scheme of ['http', 'redis']) {
      expect(output, scheme).to.match(new RegExp(`PATTERN circuit_open on ${scheme}://127\\.0\\.0\\.1:\\d+\\S* \\(policy default\\)`));
    }
  });

  it('prints no secret: the pg password of the demo\'s connection string never appears', () => {
    expect(pgPassword, 'the password the demo gave the app').to.have.length.of.at.least(8);
    expect(output.includes(pgPassword), 'the demo\'s pg password is in its output').to.equal(false);
    expect(output).not.to.match(/postgres(ql)?:\/\/[^/\s:]+:[^@\s]+@/);
  });
});
