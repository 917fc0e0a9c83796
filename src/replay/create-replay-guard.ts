import type { Logger } from 'pino'
import type { XksgateConfig } from '../config/schema'
import type { RedisClient } from '../redis/connect'
import { MemoryReplayGuard } from './memory-replay-guard'
import { RedisReplayGuard } from './redis-replay-guard'
import type { ReplayGuard } from './types'

/**
 * KMS's default request quota per external key store (docs/xks-spec.md §12). A process may receive all of a key
 * store's traffic (the kernel spreads connections, not requests), so each process sizes for the whole quota.
 */
export const KMS_QUOTA_PER_KEY_STORE = 1800

/**
 * Live signatures one process may have to hold: every request of the last and next maxSkewSeconds (a signature
 * dated up to maxSkewSeconds ahead stays valid until that much after its date) at KMS's quota, per key store.
 * `replay.maxLocalEntries` overrides it (e.g. after a quota increase).
 */
export function localReplayCapacity (config: Pick<XksgateConfig, 'replay' | 'auth' | 'keyStores'>): number {
  return config.replay.maxLocalEntries ??
    KMS_QUOTA_PER_KEY_STORE * (2 * config.auth.maxSkewSeconds + 1) * config.keyStores.length
}

export interface CreateReplayGuardOptions {
  log: Logger
  config: Pick<XksgateConfig, 'replay' | 'auth' | 'keyStores'>
  /** Shared client (see redis/connect.ts). Absent: the process-local guard only, the embedded default. */
  redis?: RedisClient
}

export function createReplayGuard ({ log, config, redis }: CreateReplayGuardOptions): ReplayGuard {
  const local = new MemoryReplayGuard({
    maxEntries: localReplayCapacity(config),
    onFull: stats => log.warn({ replayCache: stats },
      'replay cache full: requests refused with 429 until signatures expire (raise replay.maxLocalEntries if this is real traffic)'),
  })
  if (redis === undefined) return local
  const { failurePolicy, commandTimeoutMs, keyPrefix } = config.replay
  return new RedisReplayGuard({ client: redis, logger: log, failurePolicy, commandTimeoutMs, keyPrefix, local })
}
