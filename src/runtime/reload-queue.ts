/**
 * One reload at a time, in every layout (the cluster primary's, src/cluster/reload.ts, and the single serving
 * process's, ./in-place-reload.ts): a request during a reload is coalesced into one more reload right after it
 * (which reads the file as it is then), and the outcome of the last one is kept for `xksgate reload`
 * (src/cluster/reload-status.ts).
 */
import type { Logger } from '../log'

export type ReloadOutcome = 'applied' | 'refused' | 'failed' | 'incomplete' | 'abandoned'

/** What one reload did. `replaced`: serving processes replaced (0 in place). */
export interface ReloadResult { outcome: ReloadOutcome, problems: string[], replaced: number }

export interface ReloadStatus {
  /** The generation of the configuration served (1 = the configuration of the start). */
  generation: number
  /** True for one serving process, which applies a reload in place instead of replacing processes. */
  inPlace: boolean
  reloading: boolean
  /** Reloads finished so far, and the last one. */
  completed: number
  last?: ReloadResult & { durationMs: number, generation: number }
}

export interface ReloadQueueDeps {
  log: Logger
  inPlace: boolean
  generation: () => number
  stopping: () => boolean
}

export function reloadQueue (run: () => Promise<ReloadResult>, deps: ReloadQueueDeps): { request: () => void, status: () => ReloadStatus } {
  const { log } = deps
  let running = false
  let again = false
  let completed = 0
  let last: ReloadStatus['last']

  const runOnce = async (): Promise<void> => {
    const since = Date.now()
    const result = await run().catch((err: unknown): ReloadResult => {
      // A bug, not a bad file: still an outcome, so `xksgate reload` does not wait for one in vain.
      log.error({ err }, 'reload failed')
      return { outcome: 'failed', problems: [(err as Error).message], replaced: 0 }
    })
    completed++
    last = { ...result, durationMs: Date.now() - since, generation: deps.generation() }
  }

  const request = (): void => {
    if (deps.stopping()) { log.warn('reload requested while shutting down: ignored'); return }
    if (running) {
      again = true
      log.info('reload requested during a reload: it follows this one')
      return
    }
    running = true
    void runOnce().finally(() => {
      running = false
      if (again) { again = false; request() }
    })
  }

  return {
    request,
    status: () => ({ generation: deps.generation(), inPlace: deps.inPlace, reloading: running, completed, last }),
  }
}
