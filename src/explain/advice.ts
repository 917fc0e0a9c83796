/**
 * What each error the proxy answers means to an operator, and what to do: one table that both
 * docs/troubleshooting.md (generated, src/docs/troubleshooting.ts) and `xksgate why` read, so the page and the
 * command never disagree. A cause is matched by the request log's `detail` (the internal cause, never sent to
 * the client); the first cause whose pattern matches wins, and one without a pattern matches anything.
 */
import { XKS_ERRORS, type XksErrorName } from '../xks/errors'

export interface Cause {
  /** Matches the log line's detail; absent: any detail. */
  detail?: RegExp
  /** The step of the request path that decided: route, admission, SigV4, replay, validation, policy, HSM … */
  step: string
  cause: string
  fix: string
}

export interface ErrorAdvice {
  /** What KMS does with it (docs/xks-spec.md §7.3): retries it, or reports it to its caller. */
  kms: string
  causes: Cause[]
}

const RETRIED = 'retryable: KMS retries, then reports KMSInvalidStateException to its caller'
const REPORTED = 'not retryable: KMS reports it to its caller (most often as KMSInvalidStateException)'

export const ERROR_ADVICE: Readonly<Record<XksErrorName, ErrorAdvice>> = {
  ValidationException: {
    kms: REPORTED,
    causes: [
      { detail: /Content-Type/, step: 'validation', cause: 'The request had a Content-Type other than application/json.', fix: 'KMS always sends application/json: find the other client, or the proxy in the path that rewrites headers.' },
      { detail: /Malformed HTTP|head too large|Content-Length|Host/i, step: 'transport', cause: 'The HTTP framing was ambiguous or malformed (a repeated Content-Length or Host, a malformed header line).', fix: 'KMS never sends such a request: find the client or middlebox that does (docs/behaviour.md, "HTTP framing").' },
      { step: 'validation', cause: 'A field of the body is missing or invalid; the detail names the field, never its value.', fix: 'KMS sends valid bodies: a failure here means another client, or a KMS feature this proxy does not know (report it with the field name).' },
    ],
  },
  InvalidStateException: {
    kms: REPORTED,
    causes: [{ step: 'key lookup', cause: 'The external key is disabled in the configuration ("disabled": true).', fix: 'xksgate keys enable KEY, then reload (docs/operations.md, "Reload").' }],
  },
  InvalidCiphertextException: {
    kms: REPORTED,
    causes: [
      { detail: /ciphertextMetadata names version/, step: 'validation', cause: 'The ciphertext was made by a key version this proxy no longer has (retired) or does not have yet (staged on another host only).', fix: 'Add the version back under decryptOnlyVersions (docs/operations.md, "Key rotation"), or finish staging it on every host.' },
      { step: 'HSM', cause: 'The GCM tag did not verify: the ciphertext, IV, tag, AAD or ciphertextMetadata was altered, or it was encrypted under another key with the same label.', fix: 'With several HSM backends run xksgate doctor: it says whether each key has the same material on every backend.' },
    ],
  },
  InvalidKeyUsageException: {
    kms: REPORTED,
    causes: [{ step: 'HSM', cause: 'The key does not allow the operation (CKA_ENCRYPT or CKA_DECRYPT false), or it is not an AES key.', fix: 'xksgate keys describe KEY shows its usage; use a key made for both, or set "usage" to what it allows.' }],
  },
  AuthenticationFailedException: {
    kms: REPORTED,
    causes: [
      { detail: /^replay|signature was already used/, step: 'replay', cause: 'The same SigV4 signature was already used for a request that succeeded: a replay.', fix: 'KMS signs every call anew; a replayed signature comes from another client, or a middlebox resending requests.' },
      { detail: /Unknown access key id/, step: 'SigV4', cause: 'KMS signed with an access key id this key store does not list: a credential removed too early, or KMS configured with another one.', fix: 'Compare the key store\'s XksProxyAuthenticationCredential in KMS with keyStores[].credentials (docs/operations.md, "Credential rotation").' },
      { detail: /Signature does not match/, step: 'SigV4', cause: 'The access key id is known but the signature is wrong: KMS holds another secret for that id, or the request was altered on the way.', fix: 'Give KMS the secret the proxy has (UpdateCustomKeyStore), or check what rewrites requests between KMS and the proxy.' },
      { detail: /away from proxy time/, step: 'SigV4', cause: 'X-Amz-Date is more than auth.maxSkewSeconds from the proxy\'s clock.', fix: 'Fix the proxy host\'s clock (chrony or systemd-timesyncd); KMS\'s clock is right.' },
      { detail: /region is not allowed/, step: 'SigV4', cause: 'The credential scope\'s region is not in the key store\'s allowedRegions.', fix: 'Add the region KMS calls from to allowedRegions, or connect the key store from the allowed region.' },
      { step: 'SigV4', cause: 'The Authorization header or X-Amz-Date is missing or malformed; the detail says which check failed.', fix: 'KMS always signs correctly: find the client that sent it (the log line names its address).' },
    ],
  },
  AccessDeniedException: {
    kms: REPORTED,
    causes: [{ step: 'policy', cause: 'The key store\'s policy denied the request; the detail names the deciding statement (policy SID).', fix: 'xksgate policy explain shows the decision statement by statement (docs/authorization.md).' }],
  },
  KeyNotFoundException: {
    kms: REPORTED,
    causes: [
      { detail: /CKR_|KeyNotFound/, step: 'HSM', cause: 'The key\'s label was not found on the HSM: deleted there, or missing on one backend.', fix: 'xksgate doctor checks every key on every backend; never remove a key from the HSM before removing it from the configuration.' },
      { step: 'key lookup', cause: 'No external key with that id in the key store the URI prefix names.', fix: 'xksgate keys list shows the configured ids; a KMS key made for another key store, or a key removed from the configuration, ends here.' },
    ],
  },
  InvalidUriPathException: {
    kms: REPORTED,
    causes: [{ step: 'route', cause: 'The path matches no key store\'s uriPrefix and XKS operation.', fix: 'The key store\'s XksProxyUriPath in KMS must equal keyStores[].uriPrefix exactly, case and all.' }],
  },
  ThrottlingException: {
    kms: RETRIED,
    causes: [
      { detail: /^quota$/, step: 'admission (quota)', cause: 'The key store was over its quota (keyStores[].quota).', fix: 'Raise rate and burst, or find the caller that floods it (xksgate_requests_total by key store).' },
      { detail: /^overload$/, step: 'admission (in flight)', cause: 'More than server.maxInFlight requests were in progress in this process.', fix: 'Add processes or hosts (docs/operations.md, "Processes, threads, sessions: sizing"), or find what made requests slow.' },
      { detail: /^late$/, step: 'admission (deadline)', cause: 'The request arrived with too little of its budget left to be served in time.', fix: 'Look at what delayed it before the proxy: the network, the NLB, a CPU-starved host.' },
      { detail: /^hsm backlog$|^Overloaded$/, step: 'admission (HSM backlog)', cause: 'The HSM queue was longer than the request could wait within its budget: the HSM or its sessions are the bottleneck.', fix: 'Check the HSM latency (xksgate_hsm_operation_duration_seconds) and the concurrency in use against its limit (docs/operations.md, "Processes, threads, sessions: sizing").' },
      { detail: /replay cache full/, step: 'replay', cause: 'The in-process replay table had no room for another live signature.', fix: 'Raise replay.maxLocalEntries, or use Redis (docs/operations.md, "Redis").' },
      { step: 'admission', cause: 'The proxy refused the request to protect its latency.', fix: 'The detail names the reason; see the ThrottlingException causes above.' },
    ],
  },
  UnsupportedOperationException: {
    kms: REPORTED,
    causes: [{ step: 'validation', cause: 'The body, plaintext, ciphertext, AAD or an ARN is larger than this proxy\'s limit.', fix: 'Raise limits.maxPlaintextBytes, limits.maxAadBytes or server.maxBodyBytes; KMS never sends more than the spec\'s minimums require.' }],
  },
  InternalException: {
    kms: RETRIED,
    causes: [
      { detail: /^unexpected$/, step: 'proxy', cause: 'A defect in the proxy: the log has the error in full.', fix: 'Report it with that log line (CONTRIBUTING.md).' },
      { detail: /CKR_MECHANISM_INVALID/, step: 'HSM', cause: 'The HSM (or the PKCS#11 transport in front of it) does not support AES-GCM with these parameters.', fix: 'Use a module and firmware that support CKM_AES_GCM; a retry cannot help.' },
      { step: 'HSM', cause: 'The HSM answered an error (the detail names the CKR_ code) or could not be reached.', fix: 'Check the HSM and the network to it; with several backends the others keep serving (docs/hsm.md, "HSM failures and recovery").' },
    ],
  },
  DependencyTimeoutException: {
    kms: RETRIED,
    causes: [
      { detail: /replay cache unavailable|redis/i, step: 'replay', cause: 'Redis did not answer within replay.commandTimeoutMs, and replay.failurePolicy is fail-closed.', fix: 'Bring Redis back; or accept fail-open-local (docs/operations.md, "Redis").' },
      { detail: /request budget/, step: 'proxy', cause: 'The whole request took longer than server.requestTimeoutMs.', fix: 'Look at the HSM latency and the host\'s CPU; KMS gives up at 250 ms.' },
      { step: 'HSM', cause: 'The HSM did not answer within hsm[].opTimeoutMs.', fix: 'Check the HSM\'s latency and load; with several backends the request was retried on another.' },
    ],
  },
}

/** The first cause of `errorName` that matches `detail`. */
export function causeOf (errorName: XksErrorName, detail: string | undefined): Cause {
  const { causes } = ERROR_ADVICE[errorName]
  return causes.find(c => c.detail === undefined || (detail !== undefined && c.detail.test(detail))) ?? causes[causes.length - 1]
}

export const errorStatus = (errorName: XksErrorName): number => XKS_ERRORS[errorName].status
