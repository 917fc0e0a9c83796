import type { Logger } from 'pino'
import type { RedisClient } from '../redis/connect'
import { SharedBudget } from '../redis/shared-budget'

/**
 * Fleet membership for GetHealthStatus's `xksProxyFleetSize`.
 *
 * All instances share one sorted set, `<prefix>fleet`, scored by their last heartbeat. One Lua script per beat
 * adds this instance, drops members older than 3 heartbeats and counts the rest, atomically and in one round
 * trip. It takes the time from Redis (TIME), so hosts with skewed clocks cannot age each other out. A single key
 * lives in a single hash slot, so this works unchanged in Cluster mode, where per-instance keys would need a SCAN
 * of every master.
 *
 * What an "instance" is belongs to the caller (`instanceId`): processes of one host that share an id count once.
 */

const BEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stale = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - stale)
redis.call('PEXPIRE', KEYS[1], stale)
return redis.call('ZCARD', KEYS[1])
`

/** The `fleet` section's values (defaults come from the config schema) and the client. */
export interface FleetRegistryOptions {
  /** No client: a fleet of one (the embedded default). */
  client?: RedisClient
  logger: Logger
  /** This instance's member of the set. */
  instanceId: string
  /** Heartbeat period, ms; a member silent for 3 periods is dropped. */
  heartbeatMs: number
  /** Key prefix; the set is `<keyPrefix>fleet`. */
  keyPrefix: string
}

// Budget of one Redis call: heartbeats are off the request path, so they may wait longer than a replay check.
const BEAT_BUDGET_MS = 1000

export class FleetRegistry {
  readonly instanceId: string
  private readonly client: RedisClient | undefined
  private readonly logger: Logger
  private readonly key: string
  private readonly heartbeatMs: number
  private readonly budget = new SharedBudget(BEAT_BUDGET_MS)
  private timer: NodeJS.Timeout | undefined
  private beating = false
  private lastCount = 1
  private failing = false

  constructor (options: FleetRegistryOptions) {
    this.client = options.client
    this.logger = options.logger
    this.instanceId = options.instanceId
    this.heartbeatMs = options.heartbeatMs
    this.key = options.keyPrefix + 'fleet'
  }

  /** Starts heartbeating; resolves after the first beat (whether or not Redis answered). */
  async start (): Promise<void> {
    if (this.client === undefined || this.timer !== undefined) return
    this.timer = setInterval(() => { void this.beat() }, this.heartbeatMs)
    this.timer.unref()
    await this.beat()
  }

  /** Live instances, at least 1 (this one); the last known count while Redis is unreachable. */
  fleetSize (): number {
    return this.lastCount
  }

  /** Stops heartbeating and leaves the fleet at once, rather than after 3 silent heartbeats. */
  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    if (this.client === undefined) return
    try {
      await this.budget.run(this.client.zrem(this.key, this.instanceId))
    } catch (error) {
      this.logger.warn({ err: error }, 'fleet: could not leave the fleet; this instance ages out instead')
    }
  }

  /** One heartbeat; resolves after the count has been refreshed or the failure recorded. */
  async beat (): Promise<void> {
    if (this.client === undefined || this.beating) return
    this.beating = true
    try {
      const count = await this.budget.run(this.client.eval(BEAT_SCRIPT, 1, this.key, this.instanceId, 3 * this.heartbeatMs))
      this.lastCount = Math.max(1, Number(count))
      if (this.failing) this.logger.info({ fleetSize: this.lastCount }, 'fleet: heartbeat restored')
      this.failing = false
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: error, fleetSize: this.lastCount }, 'fleet: heartbeat failed; reporting the last known size')
      this.failing = true
    } finally {
      this.beating = false
    }
  }
}
