/**
 * One log line per request, from an allow-list of fields (spec §"Logging": log requestMetadata, especially
 * kmsRequestId; never plaintext). Nothing from the body except these metadata strings ever reaches the log.
 */
import type { Logger } from '../log'
import type { RejectionInterval } from './rejection-summary'
import type { RequestMetadata } from './validate'

export interface RequestLogEntry {
  operation?: string
  keyStore?: string
  /** The key store's URI prefix (XksProxyUriPath), as KMS knows the store. */
  uriPrefix?: string
  keyId?: string
  accessKeyId?: string
  region?: string
  status: number
  errorName?: string
  /** Internal cause (e.g. a CKR_* name); never sent to the client. */
  detail?: string
  latencyMs: number
  remote: string
  metadata?: RequestMetadata
  /** The policy statement (Sid) that allowed or denied the request, when its key store has a policy. */
  policySid?: string
}

export function logRequest (log: Logger, entry: RequestLogEntry): void {
  const level = entry.status >= 500 ? 'warn' : 'info'
  // Building the line costs as much as writing it: skip both when the level is off.
  if (!log.isLevelEnabled(level)) return
  log[level](requestLogFields(entry), 'xks request')
}

/** The fields of a request's log line, which are also its audit record's (src/audit/). */
export function requestLogFields (entry: RequestLogEntry): Record<string, string | number | undefined> {
  const metadata = entry.metadata
  // Named fields, not a spread of `entry`: the line is an allow-list, and V8 builds it far faster this way.
  return {
    operation: entry.operation,
    keyStore: entry.keyStore,
    uriPrefix: entry.uriPrefix,
    keyId: entry.keyId,
    accessKeyId: entry.accessKeyId,
    region: entry.region,
    status: entry.status,
    errorName: entry.errorName,
    detail: entry.detail,
    latencyMs: Math.round(entry.latencyMs * 1000) / 1000,
    remote: entry.remote,
    kmsRequestId: metadata?.kmsRequestId,
    kmsOperation: metadata?.kmsOperation,
    principal: metadata?.awsPrincipalArn,
    kmsKeyArn: metadata?.kmsKeyArn,
    sourceVpce: metadata?.awsSourceVpce,
    viaService: metadata?.kmsViaService,
    sourceVpc: metadata?.awsSourceVpc,
    policySid: entry.policySid,
  }
}

/**
 * One refused request of those sampled (refusal-sample.ts): its line as a request's, with the kmsRequestId its
 * body claims and `unauthenticated: true`, since nothing proves who sent it. 429s are warn, as their summary is.
 */
export function logRefusal (log: Logger, entry: RequestLogEntry, claimedKmsRequestId: string | undefined): void {
  const level = entry.status === 429 ? 'warn' : 'info'
  if (!log.isLevelEnabled(level)) return
  log[level]({ ...requestLogFields(entry), kmsRequestId: claimedKmsRequestId, unauthenticated: true },
    'xks request refused before authentication (its kmsRequestId is as claimed, unverified)')
}

/**
 * Requests refused before authentication, summed (rejection-summary.ts): one line per group and interval, its
 * fields named as on a request line so the same queries find them, and one more for the requests beyond the
 * groups. The level is a refused request's (info).
 */
export function logRejections (log: Logger, { groups, other, intervalMs }: RejectionInterval): void {
  if (!log.isLevelEnabled('info')) return
  for (const g of groups) {
    log.info({ rejected: g.count, intervalMs, status: g.status, errorName: g.errorName, detail: g.detail, keyStore: g.keyStore, accessKeyId: g.accessKeyId, remote: g.remote },
      'xks requests rejected before authentication')
  }
  if (other > 0) {
    log.info({ rejected: other, intervalMs, groups: groups.length },
      'xks requests rejected before authentication, beyond the groups logged this interval (too many access key ids or sources)')
  }
}

/** How often shed requests are summed up in one log line. */
const SHED_LOG_INTERVAL_MS = 1000

/**
 * Requests shed with 429 under overload, beyond the few a second that get a line each (refusal-sample.ts): one
 * warn line per second with their count. They were refused before their body was parsed, so a line each would
 * say little more than the time, and writing it would cost as much as the refusal itself, at the moment the
 * process can least afford it. The metrics count each one.
 */
export class ShedLog {
  #count = 0
  #byReason: Record<string, number> = {}
  #timer: NodeJS.Timeout | undefined

  constructor (private readonly log: Logger) {}

  /** `reason`: the admission step that refused it (src/xks/admission.ts). */
  count (reason = 'overload'): void {
    this.#count++
    this.#byReason[reason] = (this.#byReason[reason] ?? 0) + 1
    if (this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.log.warn({ shed: this.#count, byReason: this.#byReason, intervalMs: SHED_LOG_INTERVAL_MS, status: 429, errorName: 'ThrottlingException' },
        'requests shed with 429: over their key store quota, too little of their budget left, too many in flight (server.maxInFlight), or behind too long an HSM queue')
      this.#count = 0
      this.#byReason = {}
      this.#timer = undefined
    }, SHED_LOG_INTERVAL_MS)
    this.#timer.unref()
  }
}
