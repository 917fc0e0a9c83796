/**
 * The selftest's cases and how they run: one after the other (as the official test client does), each to one
 * line — passed, failed with why, or skipped with why (a key role or a file the target does not provide).
 */
import type { XksSelftestClient } from './client'
import { CheckFailed } from './check'
import type { KeyRoles, Target } from './target'

export type XksOp = 'metadata' | 'encrypt' | 'decrypt'

export class CaseSkipped extends Error {}

export interface SelftestContext {
  client: XksSelftestClient
  target: Target
  healthPath: string
  keyPath: (keyId: string, op: XksOp) => string
  /** `path` with '/invalid' put before '/kms/xks/v1', as the test client's `URI_PREFIX=$URI_PREFIX/invalid`. */
  invalidPrefix: (path: string) => string
  /** The key of that role, or CaseSkipped when the target names none. */
  key: (role: keyof KeyRoles) => string
  /** `--burst N`: how many concurrent requests the throttling case may send (0: none). */
  burst: number
}

export interface SelftestCase {
  name: string
  run: (ctx: SelftestContext) => Promise<void | string>
}

export type Outcome = 'passed' | 'failed' | 'skipped'

export interface CaseResult {
  name: string
  outcome: Outcome
  /** Why it failed or was skipped, or a note on a pass. */
  detail?: string
  ms: number
}

export function createContext (client: XksSelftestClient, burst: number): SelftestContext {
  const { target } = client
  const base = target.uriPrefix.replace(/\/kms\/xks\/v1$/, '')
  return {
    client,
    target,
    healthPath: `${target.uriPrefix}/health`,
    keyPath: (keyId, op) => `${target.uriPrefix}/keys/${keyId}/${op}`,
    invalidPrefix: path => base + '/invalid' + path.slice(base.length),
    key: role => {
      const id = target.keys[role]
      if (id === undefined) throw new CaseSkipped(`no ${role} key given`)
      return id
    },
    burst,
  }
}

/** Runs the cases in order; `onResult` sees each as it completes. */
export async function runCases (ctx: SelftestContext, cases: readonly SelftestCase[], onResult: (r: CaseResult) => void): Promise<CaseResult[]> {
  const results: CaseResult[] = []
  for (const c of cases) {
    const started = performance.now()
    let result: CaseResult
    try {
      const note = await c.run(ctx)
      result = { name: c.name, outcome: 'passed', ...(typeof note === 'string' && { detail: note }), ms: 0 }
    } catch (err) {
      const outcome = err instanceof CaseSkipped ? 'skipped' : 'failed'
      // A network error (refused, reset, timed out) fails the case with its message, never the run.
      const detail = err instanceof CheckFailed || err instanceof CaseSkipped ? err.message : `error: ${(err as Error).message}`
      result = { name: c.name, outcome, detail, ms: 0 }
    }
    result.ms = Math.round(performance.now() - started)
    results.push(result)
    onResult(result)
  }
  return results
}
