// Registered as a module-customization loader (it has no resolve or load hook) only to
// run `initialize` in Node's hooks thread, where loader hooks keep their state, and
// answer whether an import-in-the-middle loader was registered there before us.

/** What esm-hook.ts passes: one Int32 the answer is written to before register() returns. */
export interface ProbeData {
  answer: SharedArrayBuffer;
}

export const PROBE_ANSWER = { registered: 1, absent: 2 } as const;

export function initialize(data: ProbeData): void {
  // import-in-the-middle's initialize sets this global in the hooks thread.
  const registered = (globalThis as { __import_in_the_middle_initialized__?: unknown }).__import_in_the_middle_initialized__ === true;
  Atomics.store(new Int32Array(data.answer), 0, registered ? PROBE_ANSWER.registered : PROBE_ANSWER.absent);
}
