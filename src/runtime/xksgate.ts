/**
 * Assembles one serving process: HSM pool → Redis (replay cache, fleet) → health monitor → XKS core → HTTPS
 * frontend (+ optional health port), and takes them down in the reverse order. The production entry point, the
 * cluster workers and the embedded default (npm run dev) all use it.
 */
import type { XksgateConfig } from '../config/schema'
import { openAuditSink, type AuditSink } from '../audit/sink'
import type { FleetHealth } from '../health/fleet-health'
import type { Logger } from '../log'
import { sourceCommit } from '../metrics/build-info'
import { instrumentHsm, instrumentReplay } from '../metrics/instrument'
import type { ProcessMetrics } from '../metrics/process-metrics'
import { listenHealthPort, type HealthPort } from '../server/health-port'
import { listenFrontend } from '../server/create-frontend'
import { PACKAGE_ROOT, VERSION } from '../version'
import { authorizeByPolicy } from '../policy/authorize'
import { Admission } from '../xks/admission'
import { HsmBacklog } from '../xks/hsm-backlog'
import { Authenticator } from '../xks/authenticate'
import type { XksHttpResponse } from '../xks/http-types'
import { createReadiness, type LifecycleState } from './readiness'
import { startRedisDeps, type RedisDeps } from './redis-deps'
import { hsmOperationBudgetMs, startHsmBackends } from './hsm-backends'
import { listenOrExplain, requireHealthyCertificate, requireNativeUws } from './startup-checks'
import { HEALTH_MAX_AGE_MS, ReloadableCore } from './reloadable-core'
import { readTlsMaterial, type TlsMaterial } from '../cluster/tls-material'

const PING: XksHttpResponse = { status: 200, body: '{"status":"ok"}' }

export interface RunningXksgate {
  port: number
  healthPort?: number
  health: FleetHealth
  state: () => LifecycleState
  /** The configuration served: the start's, or the last one a reload applied in place. */
  config: () => XksgateConfig
  /**
   * Applies a configuration in place (one serving process; src/runtime/in-place-reload.ts checked it can); throws,
   * changing nothing, when it cannot be applied. Says whether the certificate was replaced.
   */
  reload: (next: XksgateConfig, tls: TlsMaterial) => Promise<{ certificateReplaced: boolean }>
  /** Readiness off (/readyz answers 503) while still serving; the first step of a graceful stop. */
  beginShutdown: () => void
  /** Graceful stop: readiness off, stop accepting, drain in-flight requests within drainMs, close HSM sessions. */
  close: (drainMs?: number) => Promise<void>
}

export interface StartOptions {
  metrics: ProcessMetrics
  /** Cluster worker id for the health port's /readyz bodies (0 outside a cluster). */
  worker: number
}

export async function startXksgate (config: XksgateConfig, log: Logger, options: StartOptions): Promise<RunningXksgate> {
  const { metrics } = options
  let state: LifecycleState = 'starting'
  const uwsBuild = requireNativeUws()
  metrics.buildInfo({ version: VERSION, commit: sourceCommit(PACKAGE_ROOT), node: process.version, frontend: config.server.frontend, uwsBuild })
  const certificate = requireHealthyCertificate(config, log)
  const { router, requireKeys, startHealth } = await startHsmBackends(config, log, metrics)
  const hsm = instrumentHsm(router, metrics)
  let deps: RedisDeps | undefined
  let health: FleetHealth | undefined
  let healthPort: HealthPort | undefined
  let audit: AuditSink | undefined
  try {
    const auditSink = config.audit === undefined ? undefined : openAuditSink(config.audit, log, { version: VERSION })
    audit = auditSink
    deps = await startRedisDeps(config, log)
    const replay = instrumentReplay(deps.replay, metrics)
    health = startHealth()
    const first = await health.start()
    log.info({ status: first.status, reason: first.reason }, 'first deep health check done')
    const fleet = deps.fleet
    const core = new ReloadableCore(config, readTlsMaterial(config), certificate.notAfter, {
      authenticator: new Authenticator(config.auth.maxSkewSeconds, replay, config.server.requestTimeoutMs),
      admission: new Admission({
        maxInFlight: config.server.maxInFlight,
        requestTimeoutMs: config.server.requestTimeoutMs,
        hsmTimeoutMs: hsmOperationBudgetMs(config),
        backlog: new HsmBacklog(() => router.stats()),
      }),
      authorize: authorizeByPolicy,
      hsm,
      health,
      fleetSize: () => fleet.fleetSize(),
      hsmTimeoutMs: hsmOperationBudgetMs(config),
      requestTimeoutMs: config.server.requestTimeoutMs,
      log,
      observe: entry => metrics.observeRequest(entry),
      audit: auditSink,
      requireKeys,
    })
    const readiness = createReadiness({
      state: () => state,
      hsm,
      health,
      replay,
      redisConfigured: deps.configured,
      // Three missed background checks, and never beyond the spec's one minute.
      maxHealthAgeMs: Math.min(HEALTH_MAX_AGE_MS, 3 * config.health.intervalMs),
      identity: { pid: process.pid, worker: options.worker },
    }, log)
    const ping = (): XksHttpResponse => PING
    // What anyone may see: readiness says ready or not. The reason goes to the health port's loopback peers only.
    const probes = { '/ping': ping, '/readyz': readiness.publicProbe }
    const redisErrors = deps.redisErrors
    metrics.attach({
      hsm,
      hsmBackends: () => router.backends(),
      health,
      replay,
      redisConfigured: deps.configured,
      redisErrors,
      certNotAfterMs: () => core.certNotAfterMs,
      credentials: () => core.credentials(),
      fleetSize: () => fleet.fleetSize(),
      ready: readiness.isReady,
      ...(auditSink !== undefined && { audit: () => auditSink.stats }),
    })
    const frontend = await listenOrExplain('/server/port', config.server.host, config.server.port, listenFrontend(config, {
      host: config.server.host,
      port: config.server.port,
      certFile: config.server.tls.certFile,
      keyFile: config.server.tls.keyFile,
      maxBodyBytes: config.server.maxBodyBytes,
      bodyTimeoutMs: config.server.bodyTimeoutMs,
      handler: core.handler,
      probes,
      log,
    }))
    const { host, port } = config.healthPort
    if (port !== undefined) {
      healthPort = await listenOrExplain('/healthPort/port', host, port, listenHealthPort(host, port, { public: probes, loopback: { ...probes, '/readyz': readiness.detailedProbe } }))
    }
    state = 'ready'
    log.info({ host: config.server.host, port: frontend.port, healthPort: healthPort?.port, stores: core.stores.map(s => s.uriPrefix) }, 'xksgate listening')
    const running = { health, deps, healthPort, audit }
    return {
      port: frontend.port,
      healthPort: healthPort?.port,
      health,
      state: () => state,
      config: () => core.config,
      reload: async (next, tls) => await core.apply(next, tls, frontend),
      beginShutdown: () => { if (state === 'ready' || state === 'starting') state = 'draining' },
      close: async (drainMs = config.shutdown.drainMs) => {
        state = 'draining'
        await frontend.close(drainMs)
        if (config.shutdown.lingerMs > 0) {
          await new Promise(resolve => setTimeout(resolve, config.shutdown.lingerMs))
          // Requests that came in on keep-alive connections meanwhile (listener already closed: nothing new).
          await frontend.close(drainMs)
        }
        running.healthPort?.close()
        core.flushRejections()
        // After the drain: every request answered is in the audit log before it closes.
        await running.audit?.close()
        running.health.stop()
        await running.deps.close()
        await hsm.close()
        state = 'closed'
      },
    }
  } catch (err) {
    healthPort?.close()
    await audit?.close()
    health?.stop()
    await deps?.close()
    await hsm.close()
    throw err
  }
}
