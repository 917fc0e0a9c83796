/**
 * Zero-downtime reload of a cluster (SIGHUP to the primary, or `xksgate reload`): the config file is validated
 * first, as at startup plus what only a restart can change (validated-config.ts); a configuration that fails is
 * refused with every field named and nothing is touched. Otherwise the serving processes are replaced one at a
 * time: fork one on the new configuration, wait until it serves, then stop one old process gracefully (readiness
 * off, drain, keep-alive linger with `Connection: close`), so the port is always served by at least the configured
 * number of ready processes and no request is refused. The first replacement that serves commits the new
 * configuration: from then on crash replacements start from it. A replacement that does not start ends the reload:
 * before the commit nothing changed; after it, the processes not yet replaced keep the old configuration until the
 * next reload (reported as `incomplete`).
 *
 * Signals during a reload: another SIGHUP is coalesced into one more reload right after this one (it reads the file
 * as it is then: ../runtime/reload-queue.ts); SIGTERM/SIGINT abandon the reload and stop every process, old and
 * new, with the usual drain.
 */
import { ConfigError } from '../config/load'
import type { Logger } from '../log'
import { ServingProcessFailed, generation, identity, type Generation, type Member } from './members'
import { loadReplacement } from './validated-config'
import { reloadQueue, type ReloadResult, type ReloadStatus } from '../runtime/reload-queue'

export interface ReloaderDeps {
  configFile: string
  processes: number
  log: Logger
  current: () => Generation
  commit: (gen: Generation) => void
  stopping: () => boolean
  members: () => Member[]
  fork: (gen: Generation) => Member
  untilReady: (member: Member) => Promise<void>
  retire: (member: Member, timeoutMs: number) => Promise<void>
}

/** Reloads on request; requests arrive only once the cluster has started (launch.ts holds earlier ones). */
export function reloader (deps: ReloaderDeps): { request: () => void, status: () => ReloadStatus } {
  const { log } = deps

  const run = async (): Promise<ReloadResult> => {
    const since = Date.now()
    const before = deps.current()
    let next: Generation
    try {
      next = generation(before.id + 1, loadReplacement(deps.configFile, before.config, deps.processes))
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      log.error({ configFile: deps.configFile, problems: err.problems, generation: before.id },
        'reload refused: invalid configuration; the serving processes keep the configuration they have')
      return { outcome: 'refused', problems: err.problems, replaced: 0 }
    }
    log.level = next.config.log.level
    log.info({ configFile: deps.configFile, generation: next.id, processes: deps.processes }, 'reload: configuration valid; replacing serving processes one at a time')
    const shutdown = next.config.shutdown
    const retireMs = shutdown.graceMs + shutdown.drainMs + shutdown.lingerMs + 5000
    let replaced = 0
    for (;;) {
      if (deps.stopping()) return { outcome: 'abandoned', problems: [], replaced }
      const old = deps.members().find(m => m.generation.id < next.id && !m.retiring)
      if (old === undefined) break
      const fresh = deps.fork(next)
      fresh.candidate = true
      try {
        await deps.untilReady(fresh)
      } catch (err) {
        const problem = err instanceof ServingProcessFailed && err.reason !== '' ? err.reason : (err as Error).message
        if (deps.stopping()) return { outcome: 'abandoned', problems: [], replaced }
        log.error({ reason: problem, replaced, generation: deps.current().id }, replaced === 0
          ? 'reload failed: a serving process on the new configuration did not start; the serving processes keep the configuration they have'
          : 'reload incomplete: a replacement did not start; the processes not yet replaced keep the previous configuration')
        return { outcome: replaced === 0 ? 'failed' : 'incomplete', problems: [problem], replaced }
      }
      fresh.candidate = false
      if (replaced === 0) deps.commit(next)
      log.info({ retiring: identity(old.worker), by: identity(fresh.worker), generation: next.id }, 'reload: new serving process ready; draining an old one')
      await deps.retire(old, retireMs)
      replaced++
    }
    log.info({ generation: next.id, replaced, durationMs: Date.now() - since }, 'reload done: every serving process runs the new configuration')
    return { outcome: 'applied', problems: [], replaced }
  }

  return reloadQueue(run, { log, inPlace: false, generation: () => deps.current().id, stopping: deps.stopping })
}
