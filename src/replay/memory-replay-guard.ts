import type { ReplayGuard, ReplayGuardStatus, ReplayVerdict } from './types'

/**
 * Bounded in-process replay cache. Used alone when no Redis is configured, and as the fallback (and same-process
 * fast path) of the Redis guard.
 *
 * Entries live in a Map (key → expiry ms) and are indexed by expiry second in buckets, so that both the expiry
 * sweep and "evict the entry closest to expiry" cost amortised O(1): a pointer walks forward one second at a time
 * and never revisits a second. When the cache is full the soonest-expiring entry is dropped (it is the one least
 * likely to be replayed before the skew check would reject it anyway) and counted.
 */

/** Shortest lifetime of a record, matching the Redis guard (a TTL below 1 s is treated as 1 s). */
export const MIN_TTL_MS = 1000

export interface MemoryReplayGuardOptions {
  /** Hard cap on recorded signatures; size at least peak req/s per process × 600 s to never evict a live one. */
  maxEntries: number
  /** Wall clock in ms; injectable for tests. Default `Date.now`. */
  now?: () => number
}

export interface MemoryReplayGuardStats {
  size: number
  /** Live entries dropped because the cache was full. Each is a replay this cache can no longer catch. */
  evictions: number
}

export class MemoryReplayGuard implements ReplayGuard {
  private readonly entries = new Map<string, number>()
  private readonly buckets = new Map<number, string[]>()
  /** Earliest expiry second that may still hold a bucket. */
  private cursor: number
  private evictions = 0
  readonly maxEntries: number
  private readonly now: () => number

  constructor (options: MemoryReplayGuardOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError('maxEntries must be a positive integer')
    }
    this.maxEntries = options.maxEntries
    this.now = options.now ?? Date.now
    this.cursor = Math.floor(this.now() / 1000)
  }

  async checkAndRecord (storeId: string, signature: string, expiresAtMs: number): Promise<ReplayVerdict> {
    return this.checkAndRecordSync(replayKey(storeId, signature), expiresAtMs)
  }

  /** Synchronous core, keyed by the full cache key; the Redis guard shares the key format. */
  checkAndRecordSync (key: string, expiresAtMs: number): ReplayVerdict {
    const now = this.now()
    this.sweep(now)
    if (this.has(key, now)) return 'replay'
    this.record(key, Math.max(expiresAtMs, now + MIN_TTL_MS))
    return 'fresh'
  }

  /** True when `key` is recorded and not yet expired. */
  has (key: string, now = this.now()): boolean {
    const expiresAt = this.entries.get(key)
    return expiresAt !== undefined && expiresAt > now
  }

  /** Records `key` until `expiresAtMs`, evicting the soonest-expiring entry when full. */
  record (key: string, expiresAtMs: number): void {
    if (this.entries.has(key)) this.entries.delete(key)
    else if (this.entries.size >= this.maxEntries) this.evictOne()
    this.entries.set(key, expiresAtMs)
    const second = Math.floor(expiresAtMs / 1000)
    const bucket = this.buckets.get(second)
    if (bucket === undefined) this.buckets.set(second, [key])
    else bucket.push(key)
    if (second < this.cursor) this.cursor = second
  }

  stats (): MemoryReplayGuardStats {
    return { size: this.entries.size, evictions: this.evictions }
  }

  status (): ReplayGuardStatus {
    return { backend: 'memory', degraded: false }
  }

  async close (): Promise<void> {
    this.entries.clear()
    this.buckets.clear()
  }

  /** Drops every bucket whose whole second lies in the past. */
  private sweep (now: number): void {
    const nowSecond = Math.floor(now / 1000)
    if (this.entries.size === 0) {
      // Nothing to walk over: after an idle spell, jump instead of stepping through empty seconds.
      this.buckets.clear()
      this.cursor = nowSecond
      return
    }
    for (; this.cursor < nowSecond; this.cursor++) {
      const bucket = this.buckets.get(this.cursor)
      if (bucket === undefined) continue
      for (const key of bucket) this.deleteIfIn(key, this.cursor)
      this.buckets.delete(this.cursor)
    }
  }

  private evictOne (): void {
    for (;;) {
      const bucket = this.buckets.get(this.cursor)
      const key = bucket?.pop()
      if (key === undefined) {
        this.buckets.delete(this.cursor)
        this.cursor++
        continue
      }
      // A bucket may still list a key that was re-recorded into another second; skip those.
      const live = this.has(key)
      if (this.deleteIfIn(key, this.cursor)) {
        if (live) this.evictions++
        return
      }
    }
  }

  private deleteIfIn (key: string, second: number): boolean {
    const expiresAt = this.entries.get(key)
    if (expiresAt === undefined || Math.floor(expiresAt / 1000) !== second) return false
    this.entries.delete(key)
    return true
  }
}

/** Cache key of one signature for one key store; also the Redis key suffix. */
export function replayKey (storeId: string, signature: string): string {
  return storeId + ':' + signature
}
