// The soak test's application, run under breakwater/register with --expose-gc and no
// OpenTelemetry set-up of its own: register's own SDK exports spans and metrics over
// OTLP/HTTP to the test. Many thousands of fetch calls over many flapping dependencies,
// sampling the heap after a full GC at evenly spaced call counts. Prints one JSON line.
'use strict';

const targets = process.env.SOAK_TARGETS.split(',');
const calls = Number(process.env.SOAK_CALLS);
const concurrency = Number(process.env.SOAK_CONCURRENCY ?? 16);
const sampleCount = Number(process.env.SOAK_SAMPLES ?? 20);

function heapBytes() {
  global.gc();
  return process.memoryUsage().heapUsed;
}

async function main() {
  let next = 0;
  let ok = 0;
  let failed = 0;
  // [calls started so far, heap bytes]: the test fits a line through them.
  const samples = [];
  const step = Math.floor(calls / sampleCount);
  async function worker() {
    while (next < calls) {
      const n = next++;
      if (n % step === 0) samples.push([n, heapBytes()]);
      try {
        const res = await fetch(`${targets[n % targets.length]}/item?n=${n}`);
        await res.arrayBuffer();
        if (res.ok) ok++;
        else failed++;
      } catch {
        failed++;
      }
      // Paced like a service handling requests, not a tight loop: an open breaker
      // rejects in microseconds and would otherwise use up the calls in one open period.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  samples.push([calls, heapBytes()]);
  console.log(JSON.stringify({ ok, failed, samples }));
}

main().catch((error) => {
  console.log(JSON.stringify({ error: String(error && error.stack) }));
  process.exitCode = 2;
});
