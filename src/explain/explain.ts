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
  /** The XKS operation (the route), and the KMS operation that asked for it (requestMetadata). */
  operation: string
  kmsOperation?: string
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
  /** A refusal before authentication: its kmsRequestId is what the request claimed, unverified. */
  unauthenticated?: boolean
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
    // A refusal at the route has no operation: the path named none.
    operation: text(f.operation) ?? (f.errorName === 'InvalidUriPathException' ? 'no XKS operation (the path matched no route)' : '?'),
    kmsOperation: text(f.kmsOperation),
    keyStore: text(f.keyStore),
    keyId: text(f.keyId),
    principal: text(f.principal),
    accessKeyId: text(f.accessKeyId),
    remote: text(f.remote),
    status,
    errorName,
    step: 'served',
    detail: details.length > 0 ? details.join('; ') : undefined,
    ...(f.unauthenticated === true ? { unauthenticated: true } : {}),
  }
  if (errorName === undefined || !(errorName in XKS_ERRORS)) return base
  const cause = causeOf(errorName as XksErrorName, text(f.detail))
  return { ...base, step: cause.step, cause: cause.cause, fix: cause.fix, kms: ERROR_ADVICE[errorName as XksErrorName].kms }
}

/** One screen of text for an explanation. */
export function render (e: Explanation): string {
  const rows: Array<[string, string | undefined]> = [
    ['when', `${e.time}  (${e.where})`],
    ['request', [e.operation + (e.kmsOperation === undefined ? '' : ` for KMS ${e.kmsOperation}`), e.keyStore === undefined ? undefined : `key store ${e.keyStore}`, e.keyId === undefined ? undefined : `key ${e.keyId}`].filter(Boolean).join(', ')],
    ['caller', [e.principal, e.accessKeyId === undefined ? undefined : `access key id ${e.accessKeyId}`, e.remote === undefined ? undefined : `from ${e.remote}`].filter(Boolean).join(', ') || undefined],
    ['answer', e.errorName === undefined ? `${e.status}` : `${e.status} ${e.errorName}`],
    ['decided by', e.step + (e.detail === undefined ? '' : `: ${e.detail}`)],
    ['cause', e.cause],
    ['what to do', e.fix],
    ['KMS', e.kms],
    ['unverified', e.unauthenticated === true ? 'unauthenticated: the kmsRequestId is the one the request claims, and anyone who reaches the port can claim any; the refusal itself is real' : undefined],
  ]
  return rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `  ${k.padEnd(11)} ${v as string}`).join('\n') + '\n'
}

/**
 * A line that sums refusals (src/xks/rejection-summary.ts, ShedLog in src/xks/request-log.ts), explained: per
 * reason, its count, the step that decided and what to do. A call not found by its id may be among them.
 */
export function renderSummary (found: FoundRecord): string {
  const f = found.fields
  const when = `  ${Number.isNaN(found.timeMs) ? String(f.time) : new Date(found.timeMs).toISOString()}`
  const errorName = text(f.errorName)
  const reasons: Array<[string | undefined, number]> = typeof f.byReason === 'object' && f.byReason !== null
    ? Object.entries(f.byReason as Record<string, number>)
    : [[text(f.detail), Number(f.rejected ?? f.shed)]]
  if (errorName === undefined || !(errorName in XKS_ERRORS)) return `${when}  ${String(f.rejected ?? f.shed)} more, not told apart  (${found.where})\n`
  const about = [text(f.keyStore) === undefined ? undefined : `key store ${String(f.keyStore)}`,
    text(f.accessKeyId) === undefined ? undefined : `access key id ${String(f.accessKeyId)}`,
    text(f.remote) === undefined ? undefined : `from ${String(f.remote)}`].filter(Boolean).join(', ')
  return reasons.map(([reason, count]) => {
    const cause = causeOf(errorName as XksErrorName, reason)
    return `${when}  ${String(f.status)} ${errorName} × ${count} ${reason ?? ''}: ${cause.step}${about === '' ? '' : `, ${about}`}  (${found.where})\n` +
      `      what to do  ${cause.fix}\n`
  }).join('')
}
