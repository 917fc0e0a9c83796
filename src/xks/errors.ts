/**
 * The XKS error table, defined per XKS Proxy API spec v1.0.3 §"Error Codes" (docs/xks-spec.md §7.2).
 *
 * Every error the proxy can answer is listed here once, with its HTTP status and a default message. The body of
 * each error with its default message is built once, at module load, so the common failures (429 under overload,
 * 404, 401 without detail) cost no serialisation on the request path.
 */

export const XKS_ERRORS = {
  ValidationException: { status: 400, message: 'One or more input parameters are invalid.' },
  InvalidStateException: { status: 400, message: 'The external key is disabled in the external key store proxy.' },
  InvalidCiphertextException: {
    status: 400,
    message: 'The request was rejected because the specified ciphertext, or additional authenticated data is corrupted, missing, or otherwise invalid.',
  },
  InvalidKeyUsageException: { status: 400, message: 'The external key does not support the requested operation.' },
  AuthenticationFailedException: { status: 401, message: 'The request signature could not be verified.' },
  AccessDeniedException: { status: 403, message: 'The request was denied by the proxy authorization policy.' },
  KeyNotFoundException: { status: 404, message: 'The external key was not found.' },
  InvalidUriPathException: { status: 404, message: 'The URI path is not a valid XKS API path.' },
  ThrottlingException: { status: 429, message: 'The proxy is overloaded or the request quota was exceeded; retry later.' },
  UnsupportedOperationException: { status: 501, message: 'The operation or parameter size is not supported by this proxy.' },
  InternalException: { status: 500, message: 'The external key manager failed to process the request.' },
  DependencyTimeoutException: { status: 503, message: 'The external key manager did not answer in time.' },
} as const

export type XksErrorName = keyof typeof XKS_ERRORS

/**
 * The answers KMS retries (docs/xks-spec.md §7.3: InternalException, DependencyTimeoutException,
 * ThrottlingException): a request answered with one was not served, and its signature may be presented again.
 */
export function isRetryableStatus (status: number): boolean {
  return status === 429 || status === 500 || status === 503
}

/** The spec allows errorMessage only as printable ASCII (0x20-0x7E), shorter than 512 characters. */
const MAX_MESSAGE_LENGTH = 511

export function sanitizeErrorMessage (message: string): string {
  const printable = message.replace(/[^\x20-\x7e]/g, '?')
  return printable.length > MAX_MESSAGE_LENGTH ? printable.slice(0, MAX_MESSAGE_LENGTH - 3) + '...' : printable
}

/** Compact single-line JSON, as the official test client and KMS parse it. */
function errorBody (errorName: XksErrorName, message: string): string {
  return JSON.stringify({ errorName, errorMessage: message })
}

const DEFAULT_BODIES = new Map<string, string>(Object.entries(XKS_ERRORS).map(([name, e]) => [name, errorBody(name as XksErrorName, e.message)]))

/**
 * A failure that maps to one XKS error response. `detail` is for logs only (e.g. the CKR_* code) and is never
 * serialised into the response body.
 */
export class XksError extends Error {
  readonly errorName: XksErrorName
  readonly status: number
  readonly detail: string | undefined

  constructor (errorName: XksErrorName, message?: string, detail?: string) {
    super(sanitizeErrorMessage(message ?? XKS_ERRORS[errorName].message))
    this.name = 'XksError'
    this.errorName = errorName
    this.status = XKS_ERRORS[errorName].status
    this.detail = detail
  }

  toBody (): string {
    return this.message === XKS_ERRORS[this.errorName].message ? DEFAULT_BODIES.get(this.errorName)! : errorBody(this.errorName, this.message)
  }
}
