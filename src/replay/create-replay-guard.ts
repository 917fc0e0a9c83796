import type { Logger } from 'pino'
import type { RedisClient } from '../redis/connect'
import { MemoryReplayGuard } from './memory-replay-guard'
import { RedisReplayGuard, type ReplayFailurePolicy } from './redis-replay-guard'
import type { ReplayGuard } from './types'

/** The `replay` section of the configuration. */
export interface ReplayConfig {
  /**
   * Cap on signatures held in process memory (the embedded cache, or the fallback during a Redis outage). Size it
   * at peak requests/s per process × 600 s (the ±5 min skew window) to never evict a live signature; about
   * 200 bytes each. Default 250000 (≈ 50 MB at most).
   */
  maxLocalEntries: number
  /** What a check does when Redis fails or misses its budget. Default 'fail-open-local'. */
  failurePolicy: ReplayFailurePolicy
  /** Latency budget of one Redis call, ms; keep it well inside KMS's 250 ms. Default 50. */
  commandTimeoutMs: number
  /** Redis key prefix, so several proxies or environments can share one Redis. Default 'xksgate:replay:'. */
  keyPrefix: string
}

export const REPLAY_DEFAULTS: Readonly<ReplayConfig> = Object.freeze({
  maxLocalEntries: 250_000,
  failurePolicy: 'fail-open-local',
  commandTimeoutMs: 50,
  keyPrefix: 'xksgate:replay:',
})

export interface CreateReplayGuardOptions {
  log: Logger
  /** The `replay` config section; missing fields take REPLAY_DEFAULTS. */
  config?: Partial<ReplayConfig>
  /** Shared client (see redis/connect.ts). Absent: the process-local guard only, the embedded default. */
  redis?: RedisClient
}

export function createReplayGuard ({ log, config, redis }: CreateReplayGuardOptions): ReplayGuard {
  const { maxLocalEntries, failurePolicy, commandTimeoutMs, keyPrefix } = { ...REPLAY_DEFAULTS, ...config }
  const local = new MemoryReplayGuard({ maxEntries: maxLocalEntries })
  if (redis === undefined) return local
  return new RedisReplayGuard({ client: redis, logger: log, failurePolicy, commandTimeoutMs, keyPrefix, local })
}
