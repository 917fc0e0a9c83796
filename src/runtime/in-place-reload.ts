/**
 * Reload of one serving process (`cluster.processes` 1: SIGHUP, `xksgate reload`, `systemctl reload`): nobody
 * else serves the port, so the process is not replaced; it applies the new configuration in place, between two
 * requests (src/runtime/reloadable-core.ts), and no request is refused or cut.
 *
 * 1. The file is validated exactly as at startup (loadConfig), and what one process cannot apply while serving is
 *    refused by name (./in-place-config.ts): `refused`, nothing touched.
 * 2. Every configured key is looked up on every HSM backend, as at startup, and the new certificate is checked;
 *    then the new certificate is served beside the old one and the handler swapped: `applied`. A key the token
 *    lacks, or a certificate the frontend cannot serve, ends it as `failed`, nothing touched.
 */
import { ConfigError } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import type { TlsMaterial } from '../cluster/tls-material'
import type { Logger } from '../log'
import { loadInPlaceReplacement } from './in-place-config'
import { reloadQueue, type ReloadResult, type ReloadStatus } from './reload-queue'
import type { RunningXksgate } from './xksgate'

export interface InPlaceReloaderDeps {
  configFile: string
  log: Logger
  /** The running process; undefined until it serves (a SIGHUP during the start waits for it). */
  running: () => RunningXksgate | undefined
  stopping: () => boolean
  /** After each applied reload (e.g. offer the new configuration to PM2 siblings). */
  onApplied?: (config: XksgateConfig, tls: TlsMaterial) => void | Promise<void>
}

export function inPlaceReloader (deps: InPlaceReloaderDeps): { request: () => void, status: () => ReloadStatus } {
  const { log, configFile } = deps
  let generation = 1

  const run = async (): Promise<ReloadResult> => {
    const since = Date.now()
    const running = deps.running()
    if (running === undefined) return { outcome: 'failed', problems: ['the process is not serving yet'], replaced: 0 }
    let next
    try {
      next = loadInPlaceReplacement(configFile, running.config())
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      log.error({ configFile, problems: err.problems, generation }, 'reload refused: invalid configuration, or one that takes a restart; serving on the configuration it has')
      return { outcome: 'refused', problems: err.problems, replaced: 0 }
    }
    log.info({ configFile, generation: generation + 1 }, 'reload: configuration valid; applying it in place')
    let applied
    try {
      applied = await running.reload(next.config, next.tls)
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message]
      log.error({ problems, generation }, 'reload failed: the configuration cannot be applied; serving on the configuration it has')
      return { outcome: 'failed', problems, replaced: 0 }
    }
    generation++
    log.level = next.config.log.level
    log.info({ generation, certificateReplaced: applied.certificateReplaced, durationMs: Date.now() - since },
      'reload done: the serving process applied the new configuration in place')
    await deps.onApplied?.(next.config, next.tls)
    return { outcome: 'applied', problems: [], replaced: 0 }
  }

  return reloadQueue(run, { log, inPlace: true, generation: () => generation, stopping: deps.stopping })
}
