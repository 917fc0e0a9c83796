/**
 * The transport-neutral request and response the XKS core works on. Frontends (uWS, node:tls) translate to and
 * from these, so the XKS logic never sees which HTTP server carried the request.
 */
export interface XksHttpRequest {
  method: string
  /** The path exactly as received, without query string: SigV4 signs it verbatim. */
  path: string
  /** The raw query string ('' when absent). Valid XKS requests carry none. */
  query: string
  /** Header names lower-cased; repeated headers joined with ',' (RFC 9110 §5.3). Values untouched. */
  headers: Readonly<Record<string, string>>
  /** The raw body bytes: SigV4 hashes exactly these, before any JSON parsing. */
  body: Buffer
  /** Wall-clock time the request head arrived (ms since epoch). */
  receivedAt: number
  /** Peer address, for logs only. */
  remoteAddress: string
}

export interface XksHttpResponse {
  status: number
  /** Always compact single-line JSON. */
  body: string
  /** Extra response headers (Content-Type is always application/json). */
  headers?: Readonly<Record<string, string>>
  /**
   * Called once by the frontend: after writing this response to the connection (true), or on dropping it because
   * the connection had closed (false). The replay rules need to know whether an answer reached the client.
   */
  afterWrite?: (written: boolean) => void
}
