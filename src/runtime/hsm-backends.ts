/**
 * The HSM side of a serving process: one PKCS#11 pool per configured backend, each with its own module, token,
 * PIN, threads and sessions; the router in front of them (src/hsm/router.ts); and each backend's deep health
 * check, whose results open and close the backend's circuit breaker.
 */
import { ConfigError } from '../config/load'
import type { ResolvedHsmBackend, XksgateConfig } from '../config/schema'
import { hsmCallsAllowed } from './uv-pool'
import { FleetHealth } from '../health/fleet-health'
import { HealthMonitor } from '../health/health-monitor'
import { applyModuleEnvironment } from '../hsm/module-environment'
import { Pkcs11Pool } from '../hsm/pool'
import { HsmRouter } from '../hsm/router'
import type { Logger } from '../log'
import type { ProcessMetrics } from '../metrics/process-metrics'
import { hsmStartError, requireAesGcm, requireUsableKeys } from './startup-checks'

export interface StartedBackend {
  config: ResolvedHsmBackend
  pool: Pkcs11Pool
}

export interface HsmBackends {
  router: HsmRouter
  backends: StartedBackend[]
  /**
   * Looks up every key of `config` on every backend, as at startup: a ConfigError names each missing or unfit one.
   * Through the uninstrumented pools: these lookups are not KMS traffic.
   */
  requireKeys: (config: XksgateConfig) => Promise<void>
  /** Call once the keys are checked; starts every backend's background health check. */
  startHealth: () => FleetHealth
}

/**
 * The HSM budget of one operation, retry included. With one backend it is its opTimeoutMs, as before; with
 * several, the request's own budget, and each attempt is bounded by its backend's opTimeoutMs (router.ts).
 */
export function hsmOperationBudgetMs (config: XksgateConfig): number {
  return config.hsm.length === 1 ? config.hsm[0].opTimeoutMs : config.server.requestTimeoutMs
}

/** Starts every backend (all must log in: a wrong PIN or module names its field) and checks its keys. */
export async function startHsmBackends (config: XksgateConfig, log: Logger, metrics: ProcessMetrics): Promise<HsmBackends> {
  // Before any worker thread loads a module: the modules read these at C_Initialize.
  for (const { name, field } of applyModuleEnvironment(config.hsm)) {
    log.warn({ variable: name, field }, 'the configuration replaces an environment variable the process had')
  }
  const started = await Promise.allSettled(config.hsm.map(async backend => await startPool(backend, log, metrics)))
  const backends = started.flatMap(s => s.status === 'fulfilled' ? [s.value] : [])
  const failures = started.flatMap(s => s.status === 'rejected' ? [s.reason as Error] : [])
  if (failures.length > 0) {
    await Promise.all(backends.map(async b => await b.pool.close()))
    throw startFailure(failures)
  }
  const monitors = new Map<string, HealthMonitor>()
  const router = new HsmRouter(backends.map(b => ({
    name: b.config.name,
    backend: b.pool,
    opTimeoutMs: b.config.opTimeoutMs,
    hedge: b.config.hedge,
    probe: () => { void monitors.get(b.config.name)?.check() },
  })), (backend, state, reason) => {
    if (state === 'open') log.warn({ event: 'hsm_backend', backend, state, reason }, 'HSM backend taken out of the routing')
    else log.info({ event: 'hsm_backend', backend, state }, 'HSM backend back in the routing')
  })
  const requireKeys = async (checked: XksgateConfig): Promise<void> => {
    for (const b of backends) await requireUsableKeys(checked, b.pool, b.config.tokenLabel)
  }
  try {
    // The uninstrumented pools: startup lookups are not KMS traffic.
    await requireKeys(config)
    for (const b of backends) await requireAesGcm(config, b.pool, b.config)
  } catch (err) {
    await router.close()
    throw err
  }
  const startHealth = (): FleetHealth => new FleetHealth(backends.map(b => {
    const name = b.config.name
    const monitor = new HealthMonitor({
      hsm: b.pool,
      keyLabel: config.health.keyLabel,
      intervalMs: config.health.intervalMs,
      degradedLatencyMs: config.health.degradedLatencyMs,
      timeoutMs: b.config.opTimeoutMs,
      expectedSessions: b.config.threads * b.config.sessionsPerThread,
      log,
      logFields: { backend: name },
      onResult: snapshot => router.healthResult(name, snapshot.status === 'UNAVAILABLE' ? snapshot.reason ?? 'unavailable' : undefined),
    })
    monitors.set(name, monitor)
    return { name, monitor, outReason: () => router.outReason(name) }
  }))
  return { router, backends, requireKeys, startHealth }
}

/** Every backend's configuration problem in one error; otherwise the first other failure. */
function startFailure (failures: Error[]): Error {
  const other = failures.find(err => !(err instanceof ConfigError))
  return other ?? new ConfigError(failures.flatMap(err => (err as ConfigError).problems))
}

async function startPool (backend: ResolvedHsmBackend, log: Logger, metrics: ProcessMetrics): Promise<StartedBackend> {
  const pool = await Pkcs11Pool.start({
    modulePath: backend.modulePath,
    tokenLabel: backend.tokenLabel,
    pin: backend.pin.reveal(),
    threads: backend.threads,
    sessionsPerThread: backend.sessionsPerThread,
    maxSessions: Math.max(backend.threads * backend.sessionsPerThread, Math.min(backend.maxSessions, hsmCallsAllowed())),
    ivSource: backend.ivSource,
    maxBatch: backend.maxBatch,
    startTimeoutMs: backend.startTimeoutMs,
    onHsmTime: ms => metrics.observeHsmCall(backend.name, ms / 1000),
    onEvent: event => {
      metrics.observeHsmSessionEvent(event.event)
      // Opening a session is routine; every recovery is worth an operator's attention.
      const level = event.event === 'recovery-failed' ? 'error' : event.event === 'session-opened' ? 'debug' : 'warn'
      log[level]({ hsm: event, backend: backend.name }, 'HSM session event')
    },
  }).catch((err: unknown) => { throw hsmStartError(err, backend.field) })
  return { config: backend, pool }
}
