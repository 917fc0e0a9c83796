/**
 * Replay protection: a SigV4 signature may be used once. The guard records each authenticated request's
 * signature until the signature could no longer pass the clock-skew check anyway.
 */

export type ReplayVerdict = 'fresh' | 'replay'

export interface ReplayGuardStatus {
  backend: 'redis' | 'memory'
  /** True while a configured Redis is unreachable and the guard runs on its local fallback. */
  degraded: boolean
  reason?: string
}

export interface ReplayGuard {
  /**
   * Atomically records `signature` for key store `storeId` until `expiresAtMs` (wall clock), and tells whether it
   * was already recorded. Rejects with an XksError (DependencyTimeoutException) when the backend cannot answer
   * and the configured policy is fail-closed.
   */
  checkAndRecord (storeId: string, signature: string, expiresAtMs: number): Promise<ReplayVerdict>
  status (): ReplayGuardStatus
  close (): Promise<void>
}
