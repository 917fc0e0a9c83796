/**
 * The Redis-backed parts of one serving process: a client, the replay guard on it and the fleet heartbeat.
 * Without a `redis` section: the in-process replay cache and a fleet of one.
 */
import type { XksgateConfig } from '../config/schema'
import { FleetRegistry } from '../fleet/fleet-registry'
import type { Logger } from '../log'
import { createRedisClient, whenReady, type RedisConnectionOptions } from '../redis/connect'
import { createReplayGuard } from '../replay/create-replay-guard'
import type { RedisReplayGuard } from '../replay/redis-replay-guard'
import type { ReplayGuard } from '../replay/types'

export interface RedisDeps {
  replay: ReplayGuard
  fleet: FleetRegistry
  configured: boolean
  /** Replay checks Redis failed so far (fallbacks + refusals). */
  redisErrors: () => number
  close: () => Promise<void>
}

export async function startRedisDeps (config: XksgateConfig, log: Logger): Promise<RedisDeps> {
  const redis = config.redis === undefined ? undefined : createRedisClient(redisConnectionOptions(config))
  // Until the replay guard attaches its own listener, ioredis would print every failed connection attempt to
  // stderr as raw text; the outage is logged as JSON below (and by the guard) instead.
  redis?.on('error', () => {})
  if (redis !== undefined && !await whenReady(redis, config.redis!.connectTimeoutMs)) {
    // Start anyway: the guard applies its failure policy and recovers by itself; /readyz reports it meanwhile.
    log.warn({ mode: config.redis?.mode }, 'Redis not reachable at startup; continuing degraded')
  }
  const replay = createReplayGuard({ log, config, redis })
  const fleet = new FleetRegistry({
    client: redis,
    logger: log,
    ...config.fleet,
  })
  await fleet.start()
  return {
    replay,
    fleet,
    configured: redis !== undefined,
    redisErrors: () => {
      const stats = redis === undefined ? undefined : (replay as RedisReplayGuard).stats()
      return stats === undefined ? 0 : stats.fallbacks + stats.refusals
    },
    close: async () => {
      await replay.close()
      // Removes the host's id; a sibling process still serving re-adds it at its next heartbeat (≤ heartbeatMs).
      await fleet.stop()
      redis?.disconnect()
    },
  }
}

/** The client settings of the `redis` section (which must be present), with the replay budget per command. */
export function redisConnectionOptions (config: XksgateConfig): RedisConnectionOptions {
  const r = config.redis!
  const common = { tls: r.tls, username: r.username, password: r.password, connectTimeoutMs: r.connectTimeoutMs }
  switch (r.mode) {
    case 'standalone': return { ...common, mode: 'standalone', url: r.url }
    case 'sentinel': return { ...common, mode: 'sentinel', sentinels: r.sentinels ?? [], name: r.name ?? '' }
    case 'cluster': return { ...common, mode: 'cluster', nodes: r.nodes ?? [] }
  }
}
