import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { ConnectionOptions } from 'node:tls'
import type { Secret } from '../config/secret'

/**
 * Redis client factory for the replay cache and the fleet registry.
 *
 * Every choice here serves one goal: a Redis outage must turn into a fast error the caller can act on, never
 * into a request that waits. Commands are not queued while disconnected (`enableOfflineQueue: false` on the
 * client; in Cluster mode the per-node connections keep their queue, but the cluster refuses a command whose
 * node is not ready), in-flight commands are not re-sent after a reconnect (a late replay-cache write
 * is useless to a request that has already been answered), and reconnection never gives up, so the proxy
 * recovers by itself.
 */

export interface RedisHostPort {
  host: string
  port: number
}

/** `true` = TLS with the system CAs and the host name as SNI; an object refines it. Default: no TLS. */
export type RedisTlsOptions = boolean | {
  /** PEM CA bundle (contents, not a path) that signs the server certificate. Default: the system CAs. */
  ca?: string | Buffer
  /** SNI and certificate name to verify. Default: the host connected to. */
  servername?: string
  /** Verify the server certificate. Default true; false only for tests. */
  rejectUnauthorized?: boolean
}

interface CommonRedisConnectionOptions {
  /** TLS to Redis (and, in Sentinel mode, to the sentinels too). Default: none. */
  tls?: RedisTlsOptions
  /** ACL user name (Redis 6+). Default: none (the `default` user). */
  username?: string
  /** AUTH password, already resolved from its env var or file by the config layer. Default: none. */
  password?: Secret
  /** Give up one connection attempt after this many ms, then back off and retry (config: redis.connectTimeoutMs). */
  connectTimeoutMs: number
  /**
   * ioredis rejects a command unanswered after this many ms. Unset for the proxy's own client: every caller
   * keeps its own budget (a SharedBudget: one timer for all its calls), and ioredis' timer per
   * command cost ~5 µs of CPU on each request's replay check (measured: 15.4 vs ~10 µs a SET NX).
   */
  commandTimeoutMs?: number
  /** Longest pause between reconnection attempts, in ms (exponential backoff from 50 ms, with jitter). Default 2000. */
  maxReconnectDelayMs?: number
}

export type RedisConnectionOptions = CommonRedisConnectionOptions & (
  | {
    mode: 'standalone'
    /** `redis://` or `rediss://` (TLS) URL; host, port and db below override its parts. */
    url?: string
    /** Default '127.0.0.1' (when no url). */
    host?: string
    /** Default 6379 (when no url). */
    port?: number
    /** Database index. Default 0. */
    db?: number
  }
  | {
    mode: 'sentinel'
    /** A few sentinels; the client discovers the rest. */
    sentinels: RedisHostPort[]
    /** Master group name as configured in the sentinels. */
    name: string
    /** Database index. Default 0. */
    db?: number
    /** Sentinel AUTH (sentinels often differ from the data nodes). Default: none. */
    sentinelUsername?: string
    sentinelPassword?: string
  }
  | {
    mode: 'cluster'
    /** A few cluster nodes; the client discovers the rest from CLUSTER SLOTS. */
    nodes: RedisHostPort[]
  }
)

export type RedisClient = Redis | Cluster

// Not configurable: recovering within 2 s of Redis coming back is what docs/operations.md ("Redis") promises.
const MAX_RECONNECT_DELAY_MS = 2000
// Shown by CLIENT LIST, to tell the proxy's connections apart.
const CONNECTION_NAME = 'xksgate'

export function createRedisClient (options: RedisConnectionOptions): RedisClient {
  const maxDelay = options.maxReconnectDelayMs ?? MAX_RECONNECT_DELAY_MS
  // Never returns a non-number: giving up would leave the proxy degraded until restart.
  const backoff = (times: number): number => Math.min(50 * 2 ** Math.min(times - 1, 16), maxDelay) +
    Math.floor(Math.random() * 50)
  const tls = tlsOptions(options.tls)
  const common: RedisOptions = {
    username: options.username,
    password: options.password?.reveal(),
    connectTimeout: options.connectTimeoutMs,
    ...(options.commandTimeoutMs !== undefined && { commandTimeout: options.commandTimeoutMs }),
    connectionName: CONNECTION_NAME,
    enableAutoPipelining: true,
    // Commands lost with a dropped connection fail at the first reconnect attempt instead of waiting for more.
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    tls,
  }

  switch (options.mode) {
    case 'standalone': {
      const own: RedisOptions = {
        ...common,
        enableOfflineQueue: false,
        retryStrategy: backoff,
        ...(options.host !== undefined && { host: options.host }),
        ...(options.port !== undefined && { port: options.port }),
        ...(options.db !== undefined && { db: options.db }),
      }
      // A rediss:// URL turns TLS on by itself; an explicit `tls` option is merged over it.
      return options.url !== undefined ? new Redis(options.url, own) : new Redis(own)
    }
    case 'sentinel':
      return new Redis({
        ...common,
        enableOfflineQueue: false,
        retryStrategy: backoff,
        sentinelRetryStrategy: backoff,
        sentinels: options.sentinels,
        name: options.name,
        db: options.db,
        sentinelUsername: options.sentinelUsername,
        sentinelPassword: options.sentinelPassword,
        // Without this flag ioredis ignores `tls` for the data connection in Sentinel mode and talks plain TCP.
        enableTLSForSentinelMode: tls !== undefined,
        sentinelTLS: tls,
      })
    case 'cluster': {
      const clusterOptions: ClusterOptions = {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: backoff,
        // Node restarts without a slot change (maintenance) must not drop the node for good.
        clusterNodeRetryStrategy: backoff,
        redisOptions: common,
        // ioredis resolves startup host names to IPs by default, which breaks certificate name checks under TLS.
        ...(tls !== undefined && { dnsLookup: (address, callback) => callback(null, address) }),
      }
      return new Cluster(options.nodes, clusterOptions)
    }
  }
}

function tlsOptions (tls: RedisTlsOptions | undefined): ConnectionOptions | undefined {
  if (tls === undefined || tls === false) return undefined
  if (tls === true) return {}
  return {
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.servername !== undefined && { servername: tls.servername }),
    ...(tls.rejectUnauthorized !== undefined && { rejectUnauthorized: tls.rejectUnauthorized }),
  }
}

/** Resolves true once the client is ready, false after `timeoutMs`; lets startup wait briefly for Redis. */
export async function whenReady (client: RedisClient, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true
  return await new Promise(resolve => {
    const done = (ready: boolean): void => {
      clearTimeout(timer)
      client.off('ready', onReady)
      resolve(ready)
    }
    const onReady = (): void => done(true)
    const timer = setTimeout(done, timeoutMs, false)
    client.on('ready', onReady)
  })
}
