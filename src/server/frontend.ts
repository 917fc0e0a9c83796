/**
 * The seam between the runtime and the HTTPS server that carries XKS requests. Each frontend (uWebSockets.js,
 * node:tls) only moves bytes; everything they must do identically — the request head as SigV4 canonicalises it,
 * framing refusals, probes, the too-large 501, the 500 fallback, in-flight and drain tracking — lives in
 * `frontend-core.ts`, so the two cannot drift apart.
 */
import type { Logger } from '../log'
import type { ClientAuthPolicy } from '../tls/client-auth'
import type { XksHttpResponse } from '../xks/http-types'
import type { XksHandler } from '../xks/pipeline'

/** Unauthenticated GET (and HEAD) endpoints for load balancers, e.g. /ping. */
export type Probe = () => XksHttpResponse

export type FrontendKind = 'uws' | 'node'

export interface FrontendOptions {
  host: string
  port: number
  certFile: string
  keyFile: string
  maxBodyBytes: number
  bodyTimeoutMs: number
  handler: XksHandler
  probes: Readonly<Record<string, Probe>>
  log: Logger
  /** Strict mTLS (node frontend only): the CAs and subjects a client certificate must have. */
  clientAuth?: ClientAuthPolicy
}

export interface Frontend {
  readonly port: number
  readonly inFlight: number
  /**
   * Stops accepting connections, tells keep-alive clients to reconnect elsewhere (Connection: close on every
   * further response), and waits up to drainMs for requests in progress. May be called again (after the linger).
   */
  close: (drainMs: number) => Promise<void>
}
