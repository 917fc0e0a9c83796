/**
 * Sizes libuv's thread pool, on which pkcs11js runs its asynchronous PKCS#11 calls (src/hsm/pkcs11/steps.ts):
 * each call in the HSM holds one of its threads, so the pool bounds the operations a process has in its HSMs at
 * once. libuv reads UV_THREADPOOL_SIZE once, when anything in the process (any thread) first uses the pool, so
 * the entry points import this module before anything else. An operator's own value is kept.
 */

/**
 * libuv's default is 4. 64 covers an HSM 5 ms away at 4,000 operations a second (Little's law: 20 at once) with
 * room for bursts and for the pool's other users (file writes of the logger, DNS lookups); an idle thread costs
 * a stack and nothing else.
 */
export const DEFAULT_UV_THREADPOOL_SIZE = 64
/** Threads left to the pool's other users: the HSM calls never take the last ones. */
const RESERVED = 4

process.env.UV_THREADPOOL_SIZE ??= String(DEFAULT_UV_THREADPOOL_SIZE)

/** The most asynchronous HSM calls this process may have at once. */
export function hsmCallsAllowed (env: NodeJS.ProcessEnv = process.env): number {
  const size = Number(env.UV_THREADPOOL_SIZE)
  // libuv falls back to 4 on a value it cannot read, and caps it at 1024.
  const threads = Number.isInteger(size) && size >= 1 ? Math.min(size, 1024) : 4
  return Math.max(1, threads - RESERVED)
}
