/**
 * The other proxies of this host's fleet, for `xksgate why` to name where else a request may have landed: the
 * members of the fleet registry's sorted set (src/fleet/fleet-registry.ts), read once with a short deadline.
 */
import type { XksgateConfig } from '../config/schema'
import { createRedisClient, whenReady } from '../redis/connect'
import { redisConnectionOptions } from '../runtime/redis-deps'

/** The fleet's instance ids other than this host's, or a sentence saying why they are not known. */
export async function otherFleetHosts (config: XksgateConfig): Promise<string[] | string> {
  if (config.redis === undefined) return 'no redis section: this proxy is a fleet of one'
  const client = createRedisClient({ ...redisConnectionOptions(config), maxReconnectDelayMs: config.redis.connectTimeoutMs })
  client.on('error', () => {})
  try {
    if (!await whenReady(client, config.redis.connectTimeoutMs)) return 'Redis did not answer: the fleet\'s hosts are not known'
    const members = await client.zrange(config.fleet.keyPrefix + 'fleet', '0', '-1')
    return members.filter(m => m !== config.fleet.instanceId).sort()
  } finally {
    client.disconnect()
  }
}
