import type { Logger } from 'pino'
import type { RedisClient } from '../redis/connect'
import { SharedBudget } from '../redis/shared-budget'
import { XksError } from '../xks/errors'
import type { MemoryReplayGuard } from './memory-replay-guard'
import { type BacklogEntry, OutageBacklog } from './outage-backlog'
import { SignatureState } from './signature-table'
import type { LocalReplayStats, ReplayGuard, ReplayGuardStatus, ReplayScope, ReplayVerdict } from './types'

/**
 * Fleet-wide replay cache, one Redis key per signature whose value is its state (docs/operations.md "Replay: retries and
 * repeats"):
 *
 *   p<ms>  claimed by a first attempt, which is answered by <ms> (its request budget plus a margin)
 *   r      that attempt was not served (a retryable error, or its answer never reached the connection): it may
 *          be presented once more
 *   u      used; any other value too ('1', as versions before this one wrote)
 *
 * A first use is `SET key p<ms> PX <ttl> NX`, one atomic round trip batched by ioredis auto-pipelining, as before
 * states existed. Only when that finds the key does REPEAT decide, atomically, what the repeat gets. A served
 * attempt writes nothing more: its `p` simply ends at <ms>, after which a repeat is a replay. Keeping the common
 * path at one command matters: a second command per request would cost about as much again as the first
 * (bench/README.md "Stages": 27.5 µs client CPU per command, a fifth of an Encrypt). So until <ms> another process
 * cannot tell a first attempt still in flight from one served a moment ago, and refuses both with a retryable
 * 503; the process that served it knows, and answers 401.
 *
 * Each call has a latency budget; a Redis that is down or slow yields the failure policy within that budget,
 * never a slow request. The local cache mirrors every verdict this process has given, so a same-process replay is
 * rejected without a round trip and is still caught while Redis is away. Only verdicts are mirrored: a
 * fail-closed 503 records nothing, since that request was never served.
 */

const PENDING = 'p'
const REPRESENTABLE = 'r'
const USED = 'u'

/** KEYS[1] was found claimed; ARGV[1] is the caller's wall clock in ms. Answers a ReplayVerdict. */
const REPEAT = `local v = redis.call('GET', KEYS[1])
if v == '${REPRESENTABLE}' then
  redis.call('SET', KEYS[1], '${USED}', 'KEEPTTL')
  return 'retry'
end
if v and string.sub(v, 1, 1) == '${PENDING}' and tonumber(string.sub(v, 2)) > tonumber(ARGV[1]) then return 'in-flight' end
return 'replay'`

/** A first attempt was not served: its claim, if still pending, may be presented once more. */
const RELEASE = `if string.sub(redis.call('GET', KEYS[1]) or '', 1, 1) == '${PENDING}' then
  redis.call('SET', KEYS[1], '${REPRESENTABLE}', 'KEEPTTL')
end
return 0`

const BACKFILL_CHUNK = 500
/**
 * A chunk of the backfill that Redis has not answered by then is given up and tried again: the proxy's client has
 * no command timeout of its own, and a backfill must not wait forever on a Redis that accepts but never answers.
 */
const BACKFILL_CHUNK_BUDGET_MS = 5000
/** A failed backfill is tried again after this pause, doubled at each failure up to the next constant. */
const BACKFILL_RETRY_MS = 1000
const BACKFILL_RETRY_MAX_MS = 30_000
/** Redis rounds a PX below this up to it; a record never lives shorter than one second. */
const MIN_TTL_MS = 1000

export type ReplayFailurePolicy = 'fail-open-local' | 'fail-closed'

export interface RedisReplayGuardOptions {
  client: RedisClient
  logger: Logger
  failurePolicy: ReplayFailurePolicy
  /** Budget for one Redis call, ms. */
  commandTimeoutMs: number
  /** Prepended to `<key store name>:<signature>`. */
  keyPrefix: string
  /** Local mirror and fallback; its size bounds memory during an outage. */
  local: MemoryReplayGuard
  now?: () => number
}

export interface RedisReplayGuardStats {
  /** Checks answered by the local cache because Redis failed or was too slow (fail-open-local). */
  fallbacks: number
  /** Checks refused with 503 because Redis failed or was too slow (fail-closed). */
  refusals: number
  /** Times the guard entered the degraded state. */
  outages: number
  /** Signatures accepted locally during the outage and not yet written to Redis (only live ones are kept). */
  backlog: number
}

export class RedisReplayGuard implements ReplayGuard {
  private readonly client: RedisClient
  private readonly logger: Logger
  private readonly policy: ReplayFailurePolicy
  private readonly budget: SharedBudget
  private readonly keyPrefix: string
  private readonly local: MemoryReplayGuard
  private readonly now: () => number
  private degradedReason: string | undefined
  /** The outage warning went out (a guard created before Redis is ready starts degraded but unannounced). */
  private announced = false
  /** Signatures accepted from the local cache during the outage, written to Redis once it is back. */
  private readonly backlog: OutageBacklog
  private readonly counters = { fallbacks: 0, refusals: 0, outages: 0 }
  private readonly backfillBudget = new SharedBudget(BACKFILL_CHUNK_BUDGET_MS)
  /** One backfill at a time: a second outage's signatures join the backlog the running one drains next. */
  private backfilling = false
  private backfillRetryMs = BACKFILL_RETRY_MS
  private backfillRetry: NodeJS.Timeout | undefined
  private readonly onReady = (): void => this.recovered()
  private readonly onDown = (): void => this.degrade('connection lost')
  // ioredis emits 'error' for every failed reconnect; without a listener it would only be printed.
  private readonly onError = (error: Error): void => this.degrade(error.message)

  constructor (options: RedisReplayGuardOptions) {
    this.client = options.client
    this.logger = options.logger
    this.policy = options.failurePolicy
    this.budget = new SharedBudget(options.commandTimeoutMs)
    this.keyPrefix = options.keyPrefix
    this.local = options.local
    this.now = options.now ?? Date.now
    this.backlog = new OutageBacklog(this.now)
    this.client.on('ready', this.onReady)
    this.client.on('close', this.onDown)
    this.client.on('end', this.onDown)
    this.client.on('error', this.onError)
    if (this.client.status !== 'ready') this.degradedReason = 'not connected yet'
  }

  async checkAndRecord (scope: ReplayScope, signature: string, expiresAtMs: number, inFlightUntilMs: number): Promise<ReplayVerdict> {
    // What this process knows for sure needs no round trip; a signature it let be presented again goes to Redis,
    // where another process may have taken that one re-presentation already.
    const known = this.local.stateOf(scope, signature)
    if (known === SignatureState.USED) return 'replay'
    if (known === SignatureState.PENDING) return 'in-flight'
    const now = this.now()
    const ttlMs = Math.max(Math.ceil(expiresAtMs - now), MIN_TTL_MS)
    const key = this.keyPrefix + scope.name + ':' + signature
    let reply: unknown
    try {
      reply = await this.budget.run(this.client.set(key, PENDING + String(Math.ceil(inFlightUntilMs)), 'PX', ttlMs, 'NX'))
      if (reply !== 'OK') reply = await this.budget.run(this.client.eval(REPEAT, 1, key, now))
    } catch (error) {
      return this.onFailure(scope, signature, key, now + ttlMs, error)
    }
    this.recovered()
    const verdict: ReplayVerdict = reply === 'OK' ? 'fresh' : reply as ReplayVerdict
    // A pending claim of another process is not mirrored: it changes without this process hearing of it.
    if (verdict !== 'in-flight') this.local.mirror(scope, signature, now + ttlMs, verdict === 'fresh' ? SignatureState.PENDING : SignatureState.USED)
    return verdict
  }

  /**
   * Only an attempt that was not served writes to Redis (rare: errors, lost answers); a served one leaves its
   * claim to end by itself. Fire and forget within the budget: if the write is lost, the claim ends as served
   * would, and a repeat is refused, which never executes anything twice.
   */
  settle (scope: ReplayScope, signature: string, served: boolean): void {
    if (!this.local.settle(scope, signature, served) || served) return
    this.budget.run(this.client.eval(RELEASE, 1, this.keyPrefix + scope.name + ':' + signature)).catch(() => {})
  }

  status (): ReplayGuardStatus {
    const degraded = this.degradedReason !== undefined
    const backlog = this.backlog.size
    return degraded ? { backend: 'redis', degraded, reason: this.degradedReason, backlog } : { backend: 'redis', degraded, backlog }
  }

  localStats (): LocalReplayStats {
    return this.local.localStats()
  }

  stats (): RedisReplayGuardStats & { local: LocalReplayStats } {
    return { ...this.counters, backlog: this.backlog.size, local: this.local.localStats() }
  }

  /** Detaches from the client; the caller owns (and quits) the client, which the fleet registry may share. */
  async close (): Promise<void> {
    this.client.off('ready', this.onReady)
    this.client.off('close', this.onDown)
    this.client.off('end', this.onDown)
    this.client.off('error', this.onError)
    clearTimeout(this.backfillRetry)
    await this.local.close()
  }

  private onFailure (scope: ReplayScope, signature: string, key: string, expiresAtMs: number, error: unknown): ReplayVerdict {
    const reason = error instanceof Error ? error.message : String(error)
    this.degrade(reason, signature)
    if (this.policy === 'fail-closed') {
      this.counters.refusals++
      throw new XksError('DependencyTimeoutException', 'replay cache unavailable', reason)
    }
    this.counters.fallbacks++
    // Throws 429 when the local cache is full: that bounds the backlog too.
    const verdict = this.local.checkAndRecord(scope, signature, expiresAtMs)
    if (verdict === 'fresh') this.backlog.add(key, expiresAtMs)
    return verdict
  }

  private degrade (reason: string, signature?: string): void {
    if (this.announced) return
    this.degradedReason = reason
    this.announced = true
    this.counters.outages++
    // Once per outage; a prefix of the signature correlates with request logs without making it reusable.
    this.logger.warn({ reason, policy: this.policy, signaturePrefix: signature?.slice(0, 8) },
      this.policy === 'fail-closed'
        ? 'replay cache: Redis unavailable, refusing requests with 503 until it recovers'
        : 'replay cache: Redis unavailable, falling back to the in-process cache (cross-instance replays not caught)')
  }

  private recovered (): void {
    if (this.degradedReason === undefined) return
    if (this.announced) this.logger.info({ after: this.degradedReason }, 'replay cache: Redis available again')
    this.degradedReason = undefined
    this.announced = false
    void this.backfill()
  }

  /**
   * Writes the signatures accepted locally during the outage to Redis, so that other instances reject them from
   * now on. It narrows the fail-open gap to replays made *during* the outage. Written as used, whatever became
   * of them here: a re-presentation after the outage is then refused rather than risked. Chunked so it never
   * floods the auto-pipeline that live requests share.
   *
   * A chunk that fails (Redis refused the writes, or did not answer within its budget) goes back into the backlog
   * with the rest, and the backfill is tried again after a pause while the connection stays up; if the
   * connection drops, the next 'ready' starts it. Before, the first failure dropped every signature not yet
   * written, so one slow answer just after a restart reopened the cross-instance replay gap for the whole outage.
   */
  private async backfill (): Promise<void> {
    if (this.backfilling) return
    this.backfilling = true
    clearTimeout(this.backfillRetry)
    this.backfillRetry = undefined
    try {
      while (this.backlog.size > 0 && this.degradedReason === undefined) {
        const entries = this.backlog.take()
        const failed = await this.writeBacklog(entries)
        if (failed === undefined) continue
        for (const { key, expiresAtMs } of entries.slice(failed.from)) this.backlog.add(key, expiresAtMs)
        this.logger.warn({ err: failed.error, left: this.backlog.size, retryInMs: this.backfillRetryMs },
          'replay cache: backfill after outage failed, will try again')
        this.backfillRetry = setTimeout(() => { void this.backfill() }, this.backfillRetryMs).unref()
        this.backfillRetryMs = Math.min(this.backfillRetryMs * 2, BACKFILL_RETRY_MAX_MS)
        return
      }
      this.backfillRetryMs = BACKFILL_RETRY_MS
    } finally {
      this.backfilling = false
    }
  }

  /** Writes `entries` chunk by chunk; on a failure, the index of the first chunk not known to be written. */
  private async writeBacklog (entries: BacklogEntry[]): Promise<{ from: number, error: unknown } | undefined> {
    for (let i = 0; i < entries.length; i += BACKFILL_CHUNK) {
      const now = this.now()
      const writes = entries.slice(i, i + BACKFILL_CHUNK)
        .filter(({ expiresAtMs }) => expiresAtMs - now >= MIN_TTL_MS)
        .map(async ({ key, expiresAtMs }) =>
          await this.client.set(key, USED, 'PX', Math.ceil(expiresAtMs - now), 'NX'))
      try {
        await this.backfillBudget.run(Promise.all(writes))
      } catch (error) {
        return { from: i, error }
      }
    }
    return undefined
  }
}
