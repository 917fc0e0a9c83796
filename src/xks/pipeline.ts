/**
 * The XKS request path, top to bottom (docs/xks-spec.md §7.4):
 *   route → admit (quota, lateness, in-flight limit, HSM backlog) → authenticate → validate → key lookup →
 *   authorize (the key store's policy) → operation (HSM) → respond.
 * Admission comes before SigV4 (§7.4 lets step 3 precede step 2): under overload a 429 must cost far less than
 * a served request, or the backlog only grows. It works on transport-neutral requests, so any HTTP frontend can
 * carry it.
 */
import type { HsmBackend } from '../hsm/types'
import { accessDenied } from '../policy/authorize'
import type { PolicyDecision } from '../policy/policy'
import type { AuthorizedOperation } from '../policy/vocabulary'
import { withinRequestBudget } from './deadline'
import type { Logger } from '../log'
import type { Admission } from './admission'
import { type Authenticator, ClaimSettlement, SignatureInFlight } from './authenticate'
import { XKS_ERRORS, XksError } from './errors'
import type { XksHttpRequest, XksHttpResponse } from './http-types'
import type { ExternalKey, KeyStore } from './key-stores'
import { getHealthStatus, type HealthDeps } from './operations/get-health-status'
import { getKeyMetadata } from './operations/get-key-metadata'
import { encrypt } from './operations/encrypt'
import { decrypt } from './operations/decrypt'
import { claimedKmsRequestId, RefusalSample } from './refusal-sample'
import { logRefusal, logRejections, logRequest, ShedLog, type RequestLogEntry } from './request-log'
import { rejectedBeforeAuthentication, RejectionSummary } from './rejection-summary'
import { AuthenticationFailure } from './sigv4-parse'
import { MethodNotAllowedError, RouteTable, type RouteMatch } from './routes'
import type { SizeLimits, RequestMetadata } from './validate'
import { parseJsonBody, validateDecrypt, validateEncrypt, validateHealth, validateMetadata } from './validate'
import { parseRequestMetadata } from './validate-metadata'

/**
 * Secondary authorization (docs/xks-spec.md §10), never consulted for health: the deciding statement, or
 * undefined when the key store has no policy (allowed). `region` is the SigV4 credential scope's.
 */
export type Authorize = (store: KeyStore, operation: AuthorizedOperation, keyId: string, region: string | undefined,
  metadata: RequestMetadata) => PolicyDecision | undefined

export interface XksCoreDeps {
  stores: readonly KeyStore[]
  authenticator: Authenticator
  admission: Admission
  hsm: HsmBackend
  health: HealthDeps
  limits: SizeLimits
  hsmTimeoutMs: number
  /**
   * Budget for the whole request from the arrival of its head. KMS abandons a call after 250 ms; past this budget
   * the proxy answers 503 DependencyTimeoutException (retryable) rather than a late success KMS no longer reads.
   */
  requestTimeoutMs: number
  log: Logger
  authorize?: Authorize
  /** Request metrics, fed the same entry as the log line. */
  observe?: (entry: RequestLogEntry) => void
  /** The tamper-evident audit log (src/audit/): the log line's entry, or a shed or rejected request to count. */
  audit?: { record: (entry: RequestLogEntry) => void, countShed: () => void, countRejected: (entry: RequestLogEntry) => void }
}

export type XksHandler = (req: XksHttpRequest) => Promise<XksHttpResponse>

const THROTTLED = new XksError('ThrottlingException')
const THROTTLED_RESPONSE: XksHttpResponse = Object.freeze({ status: THROTTLED.status, body: THROTTLED.toBody() })

/** `flushRejections`: logs the rejections summed so far, at a stop, so the last interval is not lost. */
export function createXksHandler (deps: XksCoreDeps): XksHandler & { flushRejections: () => void } {
  const routes = new RouteTable(deps.stores)
  const shedLog = new ShedLog(deps.log)
  const rejections = new RejectionSummary(interval => logRejections(deps.log, interval))
  const refusals = new RefusalSample()

  return Object.assign(async function handleXksRequest (req: XksHttpRequest): Promise<XksHttpResponse> {
    const started = performance.now()
    // Every field present from the start, so all entries share one object shape.
    const entry: RequestLogEntry = {
      operation: undefined, keyStore: undefined, uriPrefix: undefined, keyId: undefined, accessKeyId: undefined, region: undefined,
      status: 200, errorName: undefined, detail: undefined, latencyMs: 0, remote: req.remoteAddress, metadata: undefined,
      policySid: undefined,
    }
    let shed = false
    const settlement = new ClaimSettlement(deps.authenticator)
    try {
      const route = routes.match(req.method, req.path)
      entry.operation = route.operation
      entry.keyStore = route.store.name
      entry.uriPrefix = route.store.uriPrefix
      entry.keyId = route.keyId
      const deadline = req.receivedAt + deps.requestTimeoutMs
      // Over its key store's quota, late, too many in flight, or behind an HSM queue it cannot get through in
      // time: a cheap 429 now beats a 503 at the deadline (admission.ts gives the order).
      const refused = deps.admission.admit(route.store, route.operation, deadline - Date.now())
      if (refused !== undefined) {
        // Nothing was parsed, so there is no request metadata to log: shed requests are counted in the metrics,
        // the first few of a second get a line with the id they claim, and the rest are summed in one line a
        // second (request-log.ts), which keeps a 429 cheap.
        shed = true
        entry.status = THROTTLED.status
        entry.errorName = THROTTLED.errorName
        entry.detail = refused
        return THROTTLED_RESPONSE
      }
      // The slot is held until the work really ends, even when the answer went out at the deadline.
      const work = authenticateAndDispatch(deps, route, req, entry, deadline, settlement).finally(() => deps.admission.leave())
      return settledResponse(settlement, 200, await withinRequestBudget(work, deadline - Date.now()))
    } catch (err) {
      const error = asXksError(err, deps.log)
      entry.status = error.status
      entry.errorName = error.errorName
      // A client error's message names what was wrong (the field, never its value: validate-fields.ts), and
      // the client was told it anyway: the log line says it too when there is no internal detail.
      entry.detail = error.detail ?? (error.status < 500 && error.message !== XKS_ERRORS[error.errorName].message ? error.message : undefined)
      // A 401's line names the access key id the request presented, so a stale credential shows as such.
      if (error instanceof AuthenticationFailure) entry.accessKeyId ??= error.accessKeyId
      // RFC 9110 §15.5.6: a 405 names the methods the resource does allow.
      const headers = error instanceof MethodNotAllowedError ? { Allow: error.allow } : undefined
      return settledResponse(settlement, error.status, error.toBody(), headers)
    } finally {
      entry.latencyMs = performance.now() - started
      if (shed || rejectedBeforeAuthentication(entry)) {
        // Free to send for anyone who reaches the port: the first few of each second get a line with the id
        // they claim (refusal-sample.ts), the rest are summed (rejection-summary.ts, ShedLog).
        if (refusals.take(req.receivedAt)) logRefusal(deps.log, entry, claimedKmsRequestId(req.body))
        else if (shed) shedLog.count(entry.detail)
        else rejections.count(entry)
        if (shed) deps.audit?.countShed()
        else deps.audit?.countRejected(entry)
      } else {
        logRequest(deps.log, entry)
        deps.audit?.record(entry)
      }
      deps.observe?.(entry)
    }
  }, { flushRejections: () => rejections.flush() })
}

/**
 * The response, with the hook by which the settlement learns from the frontend whether it reached the client
 * (docs/operations.md "Replay: retries and repeats"). Built whole, every field in the literal: with `afterWrite`
 * added to a response afterwards, V8's allocation-site pretenuring put responses in the old generation, so every
 * body they held was promoted there too: a mark-compact collection a second and about 15% more CPU per request
 * (bench/README.md "Full collections in the request path").
 */
function settledResponse (settlement: ClaimSettlement, status: number, body: string, headers?: Readonly<Record<string, string>>): XksHttpResponse {
  return { status, body, headers, afterWrite: written => settlement.answered(status, written) }
}

async function authenticateAndDispatch (deps: XksCoreDeps, route: RouteMatch<KeyStore>, req: XksHttpRequest,
  entry: RequestLogEntry, deadline: number, settlement: ClaimSettlement): Promise<string> {
  let principal
  try {
    const pending = deps.authenticator.authenticate(route.store, req, settlement.claimed)
    principal = 'then' in pending ? await pending : pending
  } catch (err) {
    if (err instanceof SignatureInFlight) entry.accessKeyId = err.accessKeyId
    // Requests nobody signed, replays and duplicates of one in flight must not use up the key store's quota.
    if (err instanceof XksError && (err.errorName === 'AuthenticationFailedException' || err instanceof SignatureInFlight)) {
      deps.admission.refund(route.store, route.operation)
    }
    throw err
  }
  entry.accessKeyId = principal.accessKeyId
  entry.region = principal.region
  return await dispatch(deps, route, req, entry, Math.min(deadline, Date.now() + deps.hsmTimeoutMs))
}

/** `hsmDeadline`: the HSM operation's own bound (hsm.opTimeoutMs), within the request's. */
async function dispatch (deps: XksCoreDeps, route: RouteMatch<KeyStore>, req: XksHttpRequest, entry: RequestLogEntry,
  hsmDeadline: number): Promise<string> {
  checkContentType(req.headers['content-type'])
  const json = parseJsonBody(req.body)
  if (route.operation === 'health') {
    entry.metadata = validateHealth(json).metadata
    return await getHealthStatus(deps.health)
  }
  // The metadata first, so that a request whose other fields are invalid is still logged with its kmsRequestId.
  const metadata = parseRequestMetadata(json, route.operation === 'metadata' ? 'keyMetadata' : 'crypto')
  entry.metadata = metadata
  const request = route.operation === 'metadata'
    ? validateMetadata(json, metadata)
    : route.operation === 'encrypt' ? validateEncrypt(json, deps.limits, metadata) : validateDecrypt(json, deps.limits, metadata)
  const key = lookUpKey(route)
  const decision = deps.authorize?.(route.store, route.operation, route.keyId ?? '', entry.region, request.metadata)
  if (decision !== undefined) {
    entry.policySid = decision.sid
    if (!decision.allowed) throw accessDenied(decision)
  }
  switch (route.operation) {
    case 'metadata': return await getKeyMetadata(deps.hsm, key, hsmDeadline)
    case 'encrypt': return await encrypt(deps.hsm, key, request as ReturnType<typeof validateEncrypt>, hsmDeadline)
    case 'decrypt': return await decrypt(deps.hsm, key, request as ReturnType<typeof validateDecrypt>, hsmDeadline)
  }
}

function lookUpKey (route: RouteMatch<KeyStore>): ExternalKey {
  const key = route.keyId === undefined ? undefined : route.store.keys.get(route.keyId)
  if (key === undefined) throw new XksError('KeyNotFoundException', `No external key with that id in key store ${route.store.name}.`)
  return key
}

/**
 * The spec requires application/json. A missing header is tolerated (some clients omit it and the body is still
 * checked as JSON); any other media type is a client error, as in the AWS reference proxy.
 */
function checkContentType (value: string | undefined): void {
  if (value === undefined) return
  const mediaType = value.split(';', 1)[0].trim().toLowerCase()
  if (mediaType !== 'application/json') throw new XksError('ValidationException', 'Content-Type must be application/json.')
}

function asXksError (err: unknown, log: Logger): XksError {
  if (err instanceof XksError) return err
  // A bug, not a client or HSM failure: log it in full, answer a retryable InternalException.
  log.error({ err }, 'unexpected error in the XKS pipeline')
  return new XksError('InternalException', undefined, 'unexpected')
}
