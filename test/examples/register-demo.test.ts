// The README's first command runs this demo (`npm run demo`): it must keep working and
// keep showing what it promises: retries, a suppressed retry and why, breaker
// transitions, and the patterns the in-process detector finds.
import { expect } from 'chai';
import { runChild, type ChildResult } from '../helpers/child.js';
import { postgres, redis } from '../integration/servers.js';

describe('the register demo (npm run demo)', function () {
  this.timeout(150_000);
  let run: ChildResult;
  let output = '';

  before(async () => {
    // The demo uses PostgreSQL and Redis when installed: make sure they are (apt-get when missing).
    await postgres();
    await redis();
    run = await runChild(['examples/register-demo/run.mjs'], { DEMO_SECONDS: '30' }, 120_000);
    output = run.stdout + run.stderr;
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
    expect(output).not.to.match(/postgres(ql)?:\/\/[^/\s:]+:[^@\s]+@/);
  });
});
