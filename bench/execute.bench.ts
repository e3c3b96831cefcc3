import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleAll, retry, wrap } from 'cockatiel';
import { createPolicy } from '../src/engine/policy.js';
import type { BenchCase } from './measure.js';

const TARGET = 'https://api.example.com:443';
const noop = async (): Promise<number> => 1;

/**
 * execute() overhead on a no-op async operation with no SDK registered, beside
 * cockatiel (retry + consecutive breaker) and opossum (defaults, and timeout off).
 * Each tool is configured to do the same work: up to 3 attempts, a breaker opening
 * after 5 consecutive failures; the operation never fails, so this is the success path.
 */
export async function executeCases(): Promise<BenchCase[]> {
  const { default: CircuitBreaker } = (await import('opossum' as string)) as { default: new (fn: () => Promise<number>, options?: object) => { fire(): Promise<number> } };

  const breakwater = createPolicy({ name: 'bench', retry: { maxAttempts: 3 }, breaker: { mode: 'consecutive', threshold: 5 } });
  const breakwaterTimeout = createPolicy({ name: 'bench-timeout', retry: { maxAttempts: 3 }, breaker: { mode: 'consecutive', threshold: 5 }, timeoutMs: 10_000 });
  const cockatiel = wrap(
    retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) }),
  );
  const opossumDefaults = new CircuitBreaker(noop);
  const opossumNoTimeout = new CircuitBreaker(noop, { timeout: false });
  const options = { target: TARGET, idempotent: true };

  const loop = (fn: () => Promise<unknown>) => async (n: number) => {
    for (let i = 0; i < n; i++) await fn();
  };
  return [
    { name: 'bare await', run: loop(noop) },
    { name: 'breakwater (retry + consecutive breaker)', run: loop(() => breakwater.execute(noop, options)) },
    { name: 'cockatiel (retry + consecutive breaker)', run: loop(() => cockatiel.execute(noop)) },
    { name: 'breakwater (+ 10 s timeout)', run: loop(() => breakwaterTimeout.execute(noop, options)) },
    { name: 'opossum (defaults: 10 s timeout)', run: loop(() => opossumDefaults.fire()) },
    { name: 'opossum (timeout off)', run: loop(() => opossumNoTimeout.fire()) },
  ];
}
