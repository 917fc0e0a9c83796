/**
 * What `xksgate why` says about one request: who asked what, the answer, the step of the request path that
 * decided it, and what to do (src/explain/advice.ts, the same table as docs/troubleshooting.md).
 */
import { XKS_ERRORS, type XksErrorName } from '../xks/errors'
import { causeOf, ERROR_ADVICE } from './advice'
import type { FoundRecord } from './records'

export interface Explanation {
  time: string
  where: string
  operation: string
  keyStore?: string
  keyId?: string
  principal?: string
  accessKeyId?: string
  remote?: string
  status: number
  errorName?: string
  /** The step that decided: `served` for a success. */
  step: string
  /** The internal cause as logged (a CKR_ name, the SigV4 check, the field), the policy statement, the backend. */
  detail?: string
  cause?: string
  fix?: string
  /** What KMS does with this answer. */
  kms?: string
}

const text = (value: unknown): string | undefined => typeof value === 'string' && value !== '' ? value : undefined

export function explain (found: FoundRecord): Explanation {
  const f = found.fields
  const status = typeof f.status === 'number' ? f.status : 0
  const errorName = text(f.errorName)
  const details = [text(f.detail), f.policySid === undefined ? undefined : `policy statement ${String(f.policySid)}`,
    f.backend === undefined ? undefined : `HSM backend ${String(f.backend)}`].filter(d => d !== undefined)
  const base: Explanation = {
    time: Number.isNaN(found.timeMs) ? '?' : new Date(found.timeMs).toISOString(),
    where: found.where,
    operation: text(f.kmsOperation) ?? text(f.operation) ?? '?',
    keyStore: text(f.keyStore),
    keyId: text(f.keyId),
    principal: text(f.principal),
    accessKeyId: text(f.accessKeyId),
    remote: text(f.remote),
    status,
    errorName,
    step: 'served',
    detail: details.length > 0 ? details.join('; ') : undefined,
  }
  if (errorName === undefined || !(errorName in XKS_ERRORS)) return base
  const cause = causeOf(errorName as XksErrorName, text(f.detail))
  return { ...base, step: cause.step, cause: cause.cause, fix: cause.fix, kms: ERROR_ADVICE[errorName as XksErrorName].kms }
}

/** One screen of text for an explanation. */
export function render (e: Explanation): string {
  const rows: Array<[string, string | undefined]> = [
    ['when', `${e.time}  (${e.where})`],
    ['request', [e.operation, e.keyStore === undefined ? undefined : `key store ${e.keyStore}`, e.keyId === undefined ? undefined : `key ${e.keyId}`].filter(Boolean).join(', ')],
    ['caller', [e.principal, e.accessKeyId === undefined ? undefined : `access key id ${e.accessKeyId}`, e.remote === undefined ? undefined : `from ${e.remote}`].filter(Boolean).join(', ') || undefined],
    ['answer', e.errorName === undefined ? `${e.status}` : `${e.status} ${e.errorName}`],
    ['decided by', e.step + (e.detail === undefined ? '' : `: ${e.detail}`)],
    ['cause', e.cause],
    ['what to do', e.fix],
    ['KMS', e.kms],
  ]
  return rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `  ${k.padEnd(11)} ${v as string}`).join('\n') + '\n'
}
