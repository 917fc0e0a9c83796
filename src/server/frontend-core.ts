/**
 * What every frontend does identically, whatever HTTP server parsed the request: header copy and joining exactly as
 * SigV4 canonicalises them, the framing refusals, probe dispatch, the too-large 501, the 500 fallback, and the
 * in-flight count a graceful stop drains. A frontend copies the head with `addHeader`, asks `admit` what to do
 * with it, and for an XKS request hands its body to `serve`; only reading bytes and writing a response are its own.
 */
import type { Logger } from '../log'
import { XksError } from '../xks/errors'
import type { XksHttpRequest, XksHttpResponse } from '../xks/http-types'
import type { XksHandler } from '../xks/pipeline'
import type { Probe } from './frontend'

export type BodyResult = { kind: 'body', body: Buffer } | { kind: 'too-large' } | { kind: 'aborted' }

/** Writes one response; `close` asks for Connection: close and closing the connection after it. */
export type WriteResponse = (response: XksHttpResponse, close: boolean) => void

/** What to do with a request once its head is copied. */
export type Admission =
  /** Answer and close: the framing cannot be trusted, so neither can whatever follows on the connection. */
  | { kind: 'refuse', response: XksHttpResponse }
  | { kind: 'probe', response: XksHttpResponse }
  /** Answer 501 before reading a byte of the body, and close: the rest of it will never be read. */
  | { kind: 'too-large', response: XksHttpResponse }
  | { kind: 'xks' }

export function errorResponse (error: XksError): XksHttpResponse {
  return { status: error.status, body: error.toBody() }
}

/** Constant answers, built once: the hot path only picks one. */
export const INTERNAL_ERROR: XksHttpResponse = errorResponse(new XksError('InternalException'))
/**
 * uWS frames the body by the first Content-Length and keeps every Host line, so a repeated one is refused here
 * (RFC 9112 §6.3: 400 and close, the rest of the stream cannot be trusted; §3.2: 400 for none or more than one Host).
 */
export const REPEATED_CONTENT_LENGTH = refusal('Content-Length must appear once (RFC 9112 section 6.3).')
export const REPEATED_HOST = refusal('Host must appear once (RFC 9112 section 3.2).')
export const MISSING_HOST = refusal('Host is required (RFC 9112 section 3.2).')
export const EMPTY_BODY = Buffer.alloc(0)

function refusal (message: string): Admission {
  return { kind: 'refuse', response: errorResponse(new XksError('ValidationException', message)) }
}

const XKS: Admission = { kind: 'xks' }

/**
 * Adds one header line as received (name lower-cased by the caller). Repeated headers are joined with ','
 * (RFC 9110 §5.3), which is also how SigV4 canonicalises them. Returns the refusal when a header that must appear
 * once repeats.
 */
export function addHeader (headers: Record<string, string>, name: string, value: string): Admission | undefined {
  const previous = headers[name]
  if (previous === undefined) {
    headers[name] = value
    return undefined
  }
  headers[name] = `${previous},${value}`
  if (name === 'content-length') return REPEATED_CONTENT_LENGTH
  if (name === 'host') return REPEATED_HOST
  return undefined
}

export interface FrontendCoreOptions {
  handler: XksHandler
  probes: Readonly<Record<string, Probe>>
  maxBodyBytes: number
  log: Logger
}

export class FrontendCore {
  #inFlight = 0
  #draining = false
  #drained: (() => void) | undefined
  /** The spec's error for a parameter above the implementation's maximum (docs/xks-spec.md §7.2). */
  readonly #tooLarge: { kind: 'too-large', response: XksHttpResponse }

  constructor (private readonly options: FrontendCoreOptions) {
    const response = errorResponse(new XksError('UnsupportedOperationException', `Request body larger than ${options.maxBodyBytes} bytes.`))
    this.#tooLarge = { kind: 'too-large', response }
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /** True once close() began: every response then says Connection: close. */
  get draining (): boolean {
    return this.#draining
  }

  /**
   * Decides from the head alone. `repeated` is what addHeader returned for the head, if anything. Framing comes
   * first, probes included: a misframed GET /ping smuggles whatever follows it just as well.
   */
  admit (request: XksHttpRequest, repeated: Admission | undefined): Admission {
    if (repeated !== undefined) return repeated
    const headers = request.headers
    if (headers.host === undefined) return MISSING_HOST
    const probe = this.options.probes[request.path]
    if (probe !== undefined && (request.method === 'GET' || request.method === 'HEAD')) return { kind: 'probe', response: probe() }
    // Both parsers have already refused a Content-Length that is not a number.
    if (Number(headers['content-length'] ?? '0') > this.options.maxBodyBytes) return this.#tooLarge
    return XKS
  }

  /**
   * Runs an admitted XKS request once its body is in, and writes the answer unless the client went away
   * (`aborted`, checked again after the handler), then tells the response which it was (`afterWrite`). Any
   * failure of the handler is answered 500 InternalException, which KMS retries. Settles once the request is done
   * with (answered, or its client gone).
   */
  async serve (request: XksHttpRequest, body: Promise<BodyResult>, aborted: () => boolean, write: WriteResponse): Promise<void> {
    this.#inFlight++
    await body.then(async result => {
      if (result.kind === 'aborted') return
      if (result.kind === 'too-large') {
        write(this.#tooLarge.response, true)
        return
      }
      request.body = result.body
      const response = await this.options.handler(request)
      const written = !aborted()
      if (written) write(response, this.#draining)
      response.afterWrite?.(written)
    }).catch((err: unknown) => {
      this.options.log.error({ err }, 'frontend failed to answer a request')
      if (!aborted()) write(INTERNAL_ERROR, this.#draining)
    }).finally(() => {
      this.#inFlight--
      if (this.#inFlight === 0) this.#drained?.()
    })
  }

  /** Marks the frontend draining and waits up to drainMs for the requests in progress. */
  async drain (drainMs: number): Promise<void> {
    this.#draining = true
    if (this.#inFlight === 0) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, drainMs)
      this.#drained = () => { clearTimeout(timer); resolve() }
    })
  }
}
