import fs from 'node:fs'
import path from 'node:path'
import type { LoadShape, Scenario, ScenarioResult } from './scenario'

/** Runs `scenarios` one after the other on a shared dev directory under `workDir`; a missing tool skips one. */
export async function runScenarios (scenarios: Scenario[], workDir: string, shape: LoadShape,
  log: (line: string) => void = () => {}): Promise<{ results: ScenarioResult[], skipped: string[] }> {
  const devDir = path.join(workDir, 'dev')
  fs.mkdirSync(workDir, { recursive: true })
  const results: ScenarioResult[] = []
  const skipped: string[] = []
  for (const s of scenarios) {
    const why = s.unavailable?.()
    if (why !== undefined) { skipped.push(`${s.id}: ${why}`); log(`skipped ${s.id}: ${why}`); continue }
    log(`${s.id}: ${s.fault} ...`)
    const outcome = await s.run({ ...shape, devDir, workDir })
    const result = { id: s.id, fault: s.fault, ...outcome }
    log(`  ${summary(result)}`)
    results.push(result)
  }
  return { results, skipped }
}

export function summary (r: ScenarioResult): string {
  const c = r.counts
  const failures = Object.entries(c.statuses).filter(([s]) => s !== '200').map(([s, n]) => `${s === '0' ? 'none' : s}: ${n}`)
  return `${c.requests} requests: ${c.ok} ok, ${c.retryable} retryable, ${c.other} other, ${c.unanswered} unanswered` +
    `${failures.length > 0 ? ` (${failures.join(', ')})` : ''}; ok p99 ${c.okP99Ms} ms; ` +
    `recovery ${r.recoveryMs} ms${r.notes.length > 0 ? '; ' + r.notes.join('; ') : ''}` +
    (r.violations.length > 0 ? `\n  FAILED: ${r.violations.join('; ')}` : '')
}

/** Failures that ended before the fault was injected: the machine's doing, not the fault's. */
export const beforeFault = (r: ScenarioResult): number => r.counts.failureTimes.filter(t => t < r.faultAtMs).length

/** The Markdown table for bench/README.md. */
export function scenarioTable (results: ScenarioResult[]): string {
  const rows = results.map(r => {
    const c = r.counts
    const statuses = Object.entries(c.statuses).filter(([s]) => s !== '200').map(([s, n]) => `${s === '0' ? 'none' : s}: ${n}`).join(', ')
    return `| ${r.fault} | ${c.requests} | ${c.ok} | ${c.retryable} | ${c.other} | ${c.unanswered} | ${statuses} | ${beforeFault(r)} | ` +
      `${r.recoveryMs} ms | ${r.violations.length === 0 ? 'pass' : 'FAIL: ' + r.violations.join('; ')} | ${r.notes.join('; ')} |`
  })
  return ['| fault | requests | ok | retryable | other | unanswered | failures by status | of them before the fault | recovery | verdict | measured besides |',
    '|---|---|---|---|---|---|---|---|---|---|---|', ...rows].join('\n')
}
