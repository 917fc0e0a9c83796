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

/** The served certificate chain and private key, as files (uWS reads only files), and strict mTLS's CAs. */
export interface CertificateFiles { certFile: string, keyFile: string, clientCaPems?: string[] }

/** How connections accepted with a replaced certificate end (docs/operations.md "Certificate replacement"). */
export interface Retirement {
  /** Responses on them say Connection: close for this long, so their clients reconnect and get the new one. */
  lingerMs: number
  /** Then requests still in progress on them get this long before the rest are closed. */
  drainMs: number
}

export interface Frontend {
  readonly port: number
  readonly inFlight: number
  /**
   * Serves every new connection with this certificate from now on, without a moment in which the port is not
   * served; connections accepted before finish their requests (see each frontend for how they end). Rejects,
   * changing nothing, when the new certificate cannot be served.
   */
  replaceCertificate: (files: CertificateFiles, retirement: Retirement) => Promise<void>
  /**
   * Stops accepting connections, tells keep-alive clients to reconnect elsewhere (Connection: close on every
   * further response), and waits up to drainMs for requests in progress. May be called again (after the linger).
   */
  close: (drainMs: number) => Promise<void>
}
