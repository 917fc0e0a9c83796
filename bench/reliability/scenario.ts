import type { Counts } from './counts'
import { failed, recoveryMs } from './counts'
import type { LoadTarget } from './proxy'
import { startSteadyLoad, type RunningLoad } from './steady-load'

/**
 * One fault scenario: a proxy set up for it, a steady signed load, one fault injected part-way, and the rule
 * saying which failures that fault may cause. Each scenario is one small module under scenarios/.
 */

export interface LoadShape {
  rate: number
  durationMs: number
  /** When the fault is injected, ms after the load started. */
  faultAtMs: number
  connections: number
  /** The full run (not the CI one): a scenario may run longer to reach the regime it is about. */
  full?: boolean
}

export interface ScenarioContext extends LoadShape {
  /** The provisioned dev directory every scenario's proxy serves from. */
  devDir: string
  /** A scratch directory for this run (logs, fault files). */
  workDir: string
}

export interface ScenarioOutcome {
  counts: Counts
  /** When the fault came, ms after the load started. */
  faultAtMs: number
  /** From the fault (or the end of it, for a fault that is undone) to the last failure it caused. */
  recoveryMs: number
  /** What the scenario measured besides the counts (replacement time, RSS, dropped log lines...). */
  notes: string[]
  /** Each broken expectation, in words; empty when the scenario passed. */
  violations: string[]
}

export interface ScenarioResult extends ScenarioOutcome {
  id: string
  fault: string
}

export interface Scenario {
  id: string
  fault: string
  /** Why it cannot run here (a missing tool), or undefined. */
  unavailable?: () => string | undefined
  run: (ctx: ScenarioContext) => Promise<ScenarioOutcome>
}

/**
 * Runs the steady load on `target`, calls `inject` at ctx.faultAtMs (it resolves once the fault is done, and may
 * return when the fault was undone, in load time), and returns the counts with the recovery time.
 */
export async function underLoad (target: LoadTarget, ctx: LoadShape, inject: (load: RunningLoad) => Promise<number | undefined>):
Promise<{ counts: Counts, recoveryMs: number, faultAtMs: number }> {
  const load = startSteadyLoad({ ...target, ...ctx })
  await new Promise(resolve => setTimeout(resolve, ctx.faultAtMs))
  const faultAtMs = load.elapsed()
  const undoneAtMs = await inject(load)
  const counts = await load.done
  return { counts, recoveryMs: recoveryMs(counts, undoneAtMs ?? faultAtMs), faultAtMs }
}

/** The checks every scenario shares: failures before the fault, and a bound on how many it may cost. */
export function commonViolations (counts: Counts, faultAtMs: number, maxFailed: number): string[] {
  const out: string[] = []
  const early = counts.failureTimes.filter(t => t < faultAtMs).length
  if (early > 0) out.push(`${early} requests failed before the fault`)
  if (failed(counts) > maxFailed) out.push(`${failed(counts)} requests failed, at most ${maxFailed} allowed`)
  if (counts.ok === 0) out.push('no request succeeded')
  return out
}
