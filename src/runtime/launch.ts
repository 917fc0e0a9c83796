/**
 * Starts xksgate the configured way: one serving process in this process (cluster.processes = 1), which applies a
 * reload in place (in-place-reload.ts), or a cluster primary with N serving processes, which replaces them one at
 * a time (src/cluster/reload.ts); `xksgate reload` reads the outcome of either from the same status socket. Either
 * way the metrics port is served from here: directly from this process's registry, or summed over all processes by
 * prom-client's AggregatorRegistry (cluster IPC). And either way the TLS and health ports are claimed for this fleet here, before anything binds them (port-ownership.ts).
 */
import os from 'node:os'
import { AggregatorRegistry } from 'prom-client'
import { startPrimary } from '../cluster/primary'
import { toWire } from '../cluster/config-wire'
import { serveReloadStatus } from '../cluster/reload-status'
import { materializeTls, readTlsMaterial, type TlsMaterial } from '../cluster/tls-material'
import { validateForCluster } from '../cluster/validated-config'
import { ConfigError } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import type { Logger } from '../log'
import { ProcessMetrics } from '../metrics/process-metrics'
import { processesOnHost, replayLayoutProblem } from '../replay/replay-layout'
import { startMetricsServer, type MetricsServer } from '../metrics/server'
import { claimPorts, fleetOf, type PortClaims } from '../server/port-ownership'
import { exitWhenStopped } from './exit'
import { offerConfig, pm2Instance } from './pm2-handover'
import { inPlaceReloader } from './in-place-reload'
import { serve } from './serve'
import type { RunningXksgate } from './xksgate'
import { listenOrExplain } from './startup-checks'

export interface Launched {
  port: number
  metricsPort?: number
}

export interface LaunchOptions {
  config: XksgateConfig
  /** The certificate and key to serve when the config was inherited (pm2-handover.ts); else the files are read. */
  tls?: TlsMaterial
  configFile: string
  log: Logger
  /** Everything is serving (all processes ready). */
  onReady: (launched: Launched) => void | Promise<void>
  /** Everything has stopped; runs before exit 0. */
  onStopped?: () => void | Promise<void>
}

export function processCount (config: XksgateConfig): number {
  return config.cluster.processes === 0 ? os.availableParallelism() : config.cluster.processes
}

export async function launch ({ config, tls, configFile, log, onReady, onStopped }: LaunchOptions): Promise<void> {
  const processes = processCount(config)
  const replayProblem = replayLayoutProblem(config, processesOnHost(processes))
  if (replayProblem !== undefined) throw new ConfigError([replayProblem])
  // A failed start exits the process, and the claims go with it.
  const ports = await claimServingPorts(config, configFile)
  let metricsServer: MetricsServer | undefined
  const openMetrics = async (render: () => Promise<string>): Promise<number | undefined> => {
    if (config.metrics.port === null) return undefined
    const { host, port } = config.metrics
    metricsServer = await listenOrExplain('/metrics/port', host, port, startMetricsServer(host, port, render, log))
    return metricsServer.port
  }
  if (processes === 1) {
    const metrics = new ProcessMetrics()
    const pm2 = pm2Instance(configFile)
    // Under PM2 the bytes validated now are what this instance offers its siblings (pm2-handover.ts).
    const material = tls ?? (pm2 === undefined ? undefined : readTlsMaterial(config))
    const served = tls === undefined ? { config, remove: () => {} } : materializeTls(config, tls)
    let handover: { close: () => void } | undefined
    const offer = async (offered: XksgateConfig, offeredTls: TlsMaterial | undefined): Promise<void> => {
      if (pm2 === undefined || offeredTls === undefined) return
      handover?.close()
      // Serving matters more than the offer: without it only a later reload by name of a bad file is unguarded.
      handover = await offerConfig(pm2, toWire(offered, offeredTls))
        .catch((err: unknown) => { log.warn({ err, dir: pm2.dir }, 'cannot offer the configuration to the other PM2 instances'); return undefined })
    }
    let running: RunningXksgate | undefined
    let status: { close: () => void } | undefined
    let hangupDuringStart = false
    const reloader = inPlaceReloader({
      configFile,
      log,
      running: () => running,
      stopping: () => running !== undefined && running.state() !== 'ready',
      onApplied: async (applied, appliedTls) => await offer(applied, appliedTls),
    })
    await serve(served.config, log, {
      metrics,
      worker: 0,
      onReady: async started => {
        served.remove()
        running = started
        await offer(config, material)
        status = await serveReloadStatus(reloader.status)
        const metricsPort = await openMetrics(async () => await metrics.registry.metrics())
        await onReady({ port: started.port, metricsPort })
        if (hangupDuringStart) reloader.request()
      },
      onStopped: async () => { handover?.close(); status?.close(); await metricsServer?.close(); ports.release(); await onStopped?.() },
      onHangup: () => {
        log.info({ signal: 'SIGHUP', configFile }, running === undefined ? 'reload requested during startup: it follows the start' : 'reload requested')
        if (running === undefined) hangupDuringStart = true
        else reloader.request()
      },
    }).finally(served.remove)
    return
  }
  // Registered before the start: Node's default for SIGHUP would end the primary. One during the start follows it.
  let reload: (() => void) | undefined
  let reloadRequested = false
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP', configFile }, reload === undefined ? 'reload requested during startup: it follows the start' : 'reload requested')
    if (reload === undefined) reloadRequested = true
    else reload()
  })
  const primary = await startPrimary({ validated: validateForCluster(config, processes), configFile, processes, log })
  const status = await serveReloadStatus(primary.status)
  const aggregator = new AggregatorRegistry()
  const metricsPort = await openMetrics(async () => await aggregator.clusterMetrics())
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down every serving process')
    const bound = config.shutdown.graceMs + config.shutdown.drainMs + 5000
    exitWhenStopped((async () => {
      await primary.stop(bound)
      status.close()
      await metricsServer?.close()
      ports.release()
      await onStopped?.()
    })(), log)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  reload = primary.reload
  await onReady({ port: primary.port, metricsPort })
  if (reloadRequested) reload()
}

/**
 * An unrelated proxy on the same port would split KMS traffic with this one (SO_REUSEPORT): claimed once here, by
 * the cluster primary for all the processes it forks, or by the one serving process.
 */
async function claimServingPorts (config: XksgateConfig, configFile: string): Promise<PortClaims> {
  return await claimPorts(fleetOf(configFile), [
    { field: '/server/port', host: config.server.host, port: config.server.port },
    ...(config.healthPort.port === undefined ? [] : [{ field: '/healthPort/port', host: config.healthPort.host, port: config.healthPort.port }]),
  ])
}
