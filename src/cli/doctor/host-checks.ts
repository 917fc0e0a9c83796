/**
 * The doctor's host checks: Redis answers PING, the listening ports can be bound, the clock is synchronised
 * (SigV4 refuses requests more than auth.maxSkewSeconds away from the proxy's clock, docs/xks-spec.md §8.3).
 */
import { execFile } from 'node:child_process'
import net from 'node:net'
import type { XksgateConfig } from '../../config/schema'
import { createRedisClient, whenReady } from '../../redis/connect'
import { redisConnectionOptions } from '../../runtime/redis-deps'
import { describeHolders, listeningProcesses } from '../../server/port-holders'
import type { Check } from './check'

const PING_MS = 2000

export async function redisCheck (config: XksgateConfig): Promise<Check> {
  if (config.redis === undefined) return { name: 'Redis', status: 'ok', detail: 'not configured: in-process replay cache, fleet of one' }
  const client = createRedisClient({ ...redisConnectionOptions(config), commandTimeoutMs: PING_MS, maxReconnectDelayMs: 200 })
  // The first connection error is the answer (refused, TLS, AUTH); without a listener ioredis would print it.
  let firstError: Error | undefined
  const failed = new Promise<false>(resolve => client.on('error', (err: Error) => { firstError ??= err; resolve(false) }))
  try {
    const budget = config.redis.connectTimeoutMs + PING_MS
    if (!await Promise.race([whenReady(client, budget), failed])) {
      return { name: 'Redis', status: 'fail', detail: `not reachable (${config.redis.mode}): ${firstError?.message ?? `no connection within ${budget} ms`}` }
    }
    const started = performance.now()
    await client.ping()
    return { name: 'Redis', status: 'ok', detail: `PING answered in ${(performance.now() - started).toFixed(1)} ms (${config.redis.mode})` }
  } catch (err) {
    return { name: 'Redis', status: 'fail', detail: (err as Error).message }
  } finally {
    client.disconnect()
  }
}

/** The TLS, health and metrics ports: free and bindable, or held (by a running proxy, say which). Port 0 is any free one. */
export async function portChecks (config: XksgateConfig): Promise<Check[]> {
  const ports: Array<[string, string, number]> = [['/server/port', config.server.host, config.server.port]]
  if (config.healthPort.port !== undefined) ports.push(['/healthPort/port', config.healthPort.host, config.healthPort.port])
  if (config.metrics.port !== null) ports.push(['/metrics/port', config.metrics.host, config.metrics.port])
  return await Promise.all(ports.map(async ([field, host, port]) => await bindCheck(field, host, port)))
}

async function bindCheck (field: string, host: string, port: number): Promise<Check> {
  const name = `port ${field}`
  const error = await new Promise<NodeJS.ErrnoException | undefined>(resolve => {
    const server = net.createServer()
    server.once('error', resolve)
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
  if (error === undefined) return { name, status: 'ok', detail: `${host}:${port} can be bound` }
  if (error.code === 'EADDRINUSE') return { name, status: 'warn', detail: `${host}:${port} is in use by ${describeHolders(listeningProcesses(port))} (fine if that is this proxy)` }
  if (error.code === 'EACCES') return { name, status: 'fail', detail: `${host}:${port}: no permission to bind it (a port below 1024 needs CAP_NET_BIND_SERVICE)` }
  return { name, status: 'fail', detail: `${host}:${port}: ${error.code ?? error.message}` }
}

/** systemd's view (timedatectl), where there is one; elsewhere the OS does not say, and neither can we. */
export async function clockCheck (): Promise<Check> {
  const answer = await new Promise<string | undefined>(resolve => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 3000 }, (err, stdout) => resolve(err === null ? stdout.trim() : undefined))
  })
  if (answer === 'yes') return { name: 'clock', status: 'ok', detail: 'synchronised (timedatectl NTPSynchronized=yes)' }
  if (answer === 'no') return { name: 'clock', status: 'fail', detail: 'not synchronised (timedatectl NTPSynchronized=no): SigV4 refuses requests once the clock is off by more than auth.maxSkewSeconds' }
  return { name: 'clock', status: 'unknown', detail: 'unknown: timedatectl is not available here; make sure an NTP client keeps the clock within seconds' }
}
