/**
 * Replay protection: a SigV4 signature is executed once, unless its first attempt was answered with an error KMS
 * retries or its answer never reached the connection: it may then be presented once more (KMS retries a timed-out
 * call once, and a retry made within the same second carries the same signature). The guard records each
 * authenticated request's signature until the signature could no longer pass the clock-skew check anyway.
 * docs/operations.md "Replay: retries and repeats" gives the reasoning.
 */

/**
 * `fresh`: first use, to be settled once answered. `retry`: the one re-presentation of a signature whose first
 * attempt was not served; final, nothing to settle. `in-flight`: the first attempt is still being answered (a
 * retryable refusal). `replay`: used (401).
 */
export type ReplayVerdict = 'fresh' | 'retry' | 'in-flight' | 'replay'

/** The key store a signature was made for: its name (Redis keys, logs) and its index (the in-process table). */
export interface ReplayScope { name: string, index: number }

export interface ReplayGuardStatus {
  backend: 'redis' | 'memory'
  /** True while a configured Redis is unreachable and the guard runs on its local fallback. */
  degraded: boolean
  reason?: string
  /**
   * With Redis: signatures accepted on the local cache while Redis was unreachable (fail-open-local) and not yet
   * written to it. Until they are, a replay sent to another instance is not caught.
   */
  backlog?: number
}

export interface ReplayGuard {
  /**
   * Atomically claims `signature` for `scope` until `expiresAtMs` (wall clock), and tells what it was before.
   * `inFlightUntilMs` is when the first attempt will have been answered for sure (its request budget, plus a
   * margin): until then another process that finds it claimed cannot tell in flight from answered. Answers
   * synchronously when no I/O is needed (the in-process cache). Throws (or rejects) an XksError:
   * ThrottlingException when the in-process cache has no room left, DependencyTimeoutException when Redis cannot
   * answer and the policy is fail-closed.
   */
  checkAndRecord (scope: ReplayScope, signature: string, expiresAtMs: number, inFlightUntilMs: number): ReplayVerdict | Promise<ReplayVerdict>
  /**
   * How a `fresh` signature's attempt ended: `served` false when its answer was a retryable error or never
   * reached the connection, which lets the signature be presented once more. Never throws.
   */
  settle (scope: ReplayScope, signature: string, served: boolean): void
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
