/**
 * Replay protection: a SigV4 signature may be used once. The guard records each authenticated request's
 * signature until the signature could no longer pass the clock-skew check anyway.
 */

export type ReplayVerdict = 'fresh' | 'replay'

/** The key store a signature was made for: its name (Redis keys, logs) and its index (the in-process table). */
export interface ReplayScope { name: string, index: number }

export interface ReplayGuardStatus {
  backend: 'redis' | 'memory'
  /** True while a configured Redis is unreachable and the guard runs on its local fallback. */
  degraded: boolean
  reason?: string
}

export interface ReplayGuard {
  /**
   * Atomically records `signature` for `scope` until `expiresAtMs` (wall clock), and tells whether it was already
   * recorded. Answers synchronously when no I/O is needed (the in-process cache). Throws (or rejects) an XksError:
   * ThrottlingException when the in-process cache has no room left, DependencyTimeoutException when Redis cannot
   * answer and the policy is fail-closed.
   */
  checkAndRecord (scope: ReplayScope, signature: string, expiresAtMs: number): ReplayVerdict | Promise<ReplayVerdict>
  status (): ReplayGuardStatus
  /** The in-process table: the whole cache without Redis, the mirror and fallback with it. */
  localStats (): LocalReplayStats
  close (): Promise<void>
}

export interface LocalReplayStats {
  /** Live signatures (the count follows expiry with a lag of at most one sweep). */
  size: number
  capacity: number
  /** Memory the table holds, allocated at startup. */
  bytes: number
  /** Requests refused because the table had no room for their signature. */
  refusals: number
}
