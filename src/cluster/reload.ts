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
 * as it is then); SIGTERM/SIGINT abandon the reload and stop every process, old and new, with the usual drain.
 */
import { ConfigError } from '../config/load'
import type { Logger } from '../log'
import { ServingProcessFailed, generation, identity, type Generation, type Member } from './members'
import { loadReplacement } from './validated-config'

export type ReloadOutcome = 'applied' | 'refused' | 'failed' | 'incomplete' | 'abandoned'

export interface ReloadStatus {
  /** The generation new and replacement processes start from (1 = the configuration of the start). */
  generation: number
  reloading: boolean
  /** Reloads finished so far, and the last one. */
  completed: number
  last?: { outcome: ReloadOutcome, problems: string[], replaced: number, durationMs: number, generation: number }
}

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
  let running = false
  let again = false
  let completed = 0
  let last: ReloadStatus['last']

  const finish = (outcome: ReloadOutcome, problems: string[], replaced: number, since: number): void => {
    completed++
    last = { outcome, problems, replaced, durationMs: Date.now() - since, generation: deps.current().id }
  }

  const run = async (): Promise<void> => {
    const since = Date.now()
    const before = deps.current()
    let next: Generation
    try {
      next = generation(before.id + 1, loadReplacement(deps.configFile, before.config, deps.processes))
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      log.error({ configFile: deps.configFile, problems: err.problems, generation: before.id },
        'reload refused: invalid configuration; the serving processes keep the configuration they have')
      finish('refused', err.problems, 0, since)
      return
    }
    log.level = next.config.log.level
    log.info({ configFile: deps.configFile, generation: next.id, processes: deps.processes }, 'reload: configuration valid; replacing serving processes one at a time')
    const shutdown = next.config.shutdown
    const retireMs = shutdown.graceMs + shutdown.drainMs + shutdown.lingerMs + 5000
    let replaced = 0
    for (;;) {
      if (deps.stopping()) { finish('abandoned', [], replaced, since); return }
      const old = deps.members().find(m => m.generation.id < next.id && !m.retiring)
      if (old === undefined) break
      const fresh = deps.fork(next)
      fresh.candidate = true
      try {
        await deps.untilReady(fresh)
      } catch (err) {
        const problem = err instanceof ServingProcessFailed && err.reason !== '' ? err.reason : (err as Error).message
        if (deps.stopping()) { finish('abandoned', [], replaced, since); return }
        const outcome = replaced === 0 ? 'failed' : 'incomplete'
        log.error({ reason: problem, replaced, generation: deps.current().id }, replaced === 0
          ? 'reload failed: a serving process on the new configuration did not start; the serving processes keep the configuration they have'
          : 'reload incomplete: a replacement did not start; the processes not yet replaced keep the previous configuration')
        finish(outcome, [problem], replaced, since)
        return
      }
      fresh.candidate = false
      if (replaced === 0) deps.commit(next)
      log.info({ retiring: identity(old.worker), by: identity(fresh.worker), generation: next.id }, 'reload: new serving process ready; draining an old one')
      await deps.retire(old, retireMs)
      replaced++
    }
    log.info({ generation: next.id, replaced, durationMs: Date.now() - since }, 'reload done: every serving process runs the new configuration')
    finish('applied', [], replaced, since)
  }

  const request = (): void => {
    if (deps.stopping()) { log.warn('reload requested while shutting down: ignored'); return }
    if (running) {
      again = true
      log.info('reload requested during a reload: it follows this one')
      return
    }
    running = true
    run().catch((err: unknown) => log.error({ err }, 'reload failed')).finally(() => {
      running = false
      if (again) { again = false; request() }
    })
  }

  return {
    request,
    status: () => ({ generation: deps.current().id, reloading: running, completed, last }),
  }
}
