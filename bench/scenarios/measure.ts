import type { BenchConfig } from '../config'
import { machineBusySeconds, treeCpuSeconds, treeRss, waitForQuiet } from '../lib/procstat'
import type { LoadResult } from '../loadgen/run-load'

/** A load phase together with what it cost the server processes. */
export interface ServerFigures {
  label: string
  load: LoadResult
  /** CPU the server processes (with their descendants) used during the phase, in cores. */
  serverCores: number
  /**
   * CPU used by everything else on the machine during the phase, in cores: other people's builds and tests
   * share these two cores, and a figure taken while they ran is not comparable.
   */
  foreignCores: number
  /** RSS of every server process at the end of the phase. */
  rss: Array<{ pid: number, rssMb: number }>
}

/** Runs one load phase (after waiting, within --quiet-wait, for the machine to be quiet) and measures its cost. */
export async function measureServer (cfg: BenchConfig, pids: number[], phase: () => Promise<LoadResult>): Promise<ServerFigures> {
  if (cfg.quietWaitMs > 0) await waitForQuiet(cfg.quietWaitMs)
  const cpu = (): number => pids.reduce((s, p) => s + treeCpuSeconds(p), 0)
  const cpu0 = cpu()
  const busy0 = machineBusySeconds()
  const t0 = performance.now()
  const load = await phase()
  const seconds = (performance.now() - t0) / 1000
  const serverCores = (cpu() - cpu0) / seconds
  const foreignCores = Math.max(0, (machineBusySeconds() - busy0) / seconds - serverCores - load.clientCores)
  return { label: '', load, serverCores, foreignCores, rss: pids.flatMap(treeRss) }
}
