/**
 * Assembles one serving process: HSM pool → health monitor → XKS core → HTTPS frontend, and takes them down in
 * the reverse order. Both the production entry point and the embedded default (npm run dev) use it.
 */
import type { XksgateConfig } from '../config/schema'
import { HealthMonitor } from '../health/health-monitor'
import { Pkcs11Pool } from '../hsm/pool'
import type { Logger } from '../log'
import { createReplayGuard } from '../replay/create-replay-guard'
import type { ReplayGuard } from '../replay/types'
import { UwsFrontend } from '../server/uws-frontend'
import { VERSION } from '../version'
import { Admission } from '../xks/admission'
import { Authenticator } from '../xks/authenticate'
import { buildKeyStores } from '../xks/key-stores'
import { createXksHandler } from '../xks/pipeline'

// The spec lets GetHealthStatus answer from a cached deep check no older than one minute.
const HEALTH_MAX_AGE_MS = 60_000

export interface RunningXksgate {
  port: number
  health: HealthMonitor
  /** Graceful stop: stop accepting, drain in-flight requests within drainMs, close HSM sessions. */
  close: (drainMs?: number) => Promise<void>
}

export async function startXksgate (config: XksgateConfig, log: Logger): Promise<RunningXksgate> {
  const hsm = await Pkcs11Pool.start({
    modulePath: config.hsm.modulePath,
    tokenLabel: config.hsm.tokenLabel,
    pin: config.hsm.pin,
    threads: config.hsm.threads,
    sessionsPerThread: config.hsm.sessionsPerThread,
    ivSource: config.hsm.ivSource,
    maxBatch: config.hsm.maxBatch,
  })
  let replay: ReplayGuard | undefined
  let health: HealthMonitor | undefined
  try {
    replay = createReplayGuard({ log })
    health = new HealthMonitor({
      hsm,
      keyLabel: config.health.keyLabel,
      intervalMs: config.health.intervalMs,
      degradedLatencyMs: config.health.degradedLatencyMs,
      timeoutMs: config.hsm.opTimeoutMs,
      expectedSessions: config.hsm.threads * config.hsm.sessionsPerThread,
      log,
    })
    const first = await health.start()
    log.info({ status: first.status, reason: first.reason }, 'first deep health check done')
    const stores = buildKeyStores(config.keyStores)
    const handler = createXksHandler({
      stores,
      authenticator: new Authenticator(stores, config.auth.maxSkewSeconds, replay),
      admission: new Admission(config.server.maxInFlight),
      hsm,
      health: {
        health,
        identity: {
          proxyVendor: config.health.proxyVendor,
          proxyModel: config.health.proxyModel ?? `xksgate ${VERSION}`,
          ekmVendor: config.health.ekmVendor,
        },
        fleetSize: () => 1,
        maxAgeMs: HEALTH_MAX_AGE_MS,
      },
      limits: config.limits,
      hsmTimeoutMs: config.hsm.opTimeoutMs,
      log,
    })
    const frontend = await UwsFrontend.listen({
      host: config.server.host,
      port: config.server.port,
      certFile: config.server.tls.certFile,
      keyFile: config.server.tls.keyFile,
      maxBodyBytes: config.server.maxBodyBytes,
      bodyTimeoutMs: config.server.bodyTimeoutMs,
      handler,
      probes: { '/ping': () => ({ status: 200, body: '{"status":"ok"}' }) },
      log,
    })
    log.info({ host: config.server.host, port: frontend.port, stores: stores.map(s => s.uriPrefix) }, 'xksgate listening')
    const running = { health, replay }
    return {
      port: frontend.port,
      health,
      close: async (drainMs = 10_000) => {
        await frontend.close(drainMs)
        running.health.stop()
        await running.replay.close()
        await hsm.close()
      },
    }
  } catch (err) {
    health?.stop()
    await replay?.close()
    await hsm.close()
    throw err
  }
}
