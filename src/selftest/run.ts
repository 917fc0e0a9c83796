/** One selftest run against a target: every case in order, then the tally. */
import { allCases } from './cases'
import { XksSelftestClient } from './client'
import { createContext, runCases, type CaseResult } from './suite'
import type { Target } from './target'

export interface SelftestReport {
  passed: number
  failed: number
  skipped: number
  cases: CaseResult[]
}

export async function runSelftest (target: Target, options: { burst?: number, only?: string, onResult?: (r: CaseResult) => void } = {}): Promise<SelftestReport> {
  const client = new XksSelftestClient(target, Math.max(64, options.burst ?? 0))
  try {
    const only = options.only
    const selected = allCases().filter(c => only === undefined || c.name.includes(only))
    const cases = await runCases(createContext(client, options.burst ?? 0), selected, options.onResult ?? (() => {}))
    const count = (outcome: CaseResult['outcome']): number => cases.filter(c => c.outcome === outcome).length
    return { passed: count('passed'), failed: count('failed'), skipped: count('skipped'), cases }
  } finally {
    client.close()
  }
}
