import type { Credentials } from '../sign'
import type { Template } from './templates'

export interface ClientCert { cert: string, key: string }

/** What the orchestrator hands each load-generator thread. */
export interface WorkerConfig {
  host: string
  port: number
  /** The Host header value, which SigV4 signs verbatim. */
  hostHeader: string
  /** A client certificate (PEM) for servers that require mTLS. */
  clientCert?: ClientCert
  creds: Credentials
  templates: Template[]
  /** Indexes into templates, walked cyclically by every connection. */
  order: number[]
  runTag: string
  thread: number
  connections: number
  /** Closed loop when absent; otherwise requests per second for this thread. */
  rate?: number
  /**
   * Open loop: count latency from the actual send instead of the intended send time. For overload, where a client
   * that cannot keep up would otherwise count its own queueing as the server's (its send lag is reported apart).
   */
  latencyFromSend?: boolean
  warmupMs: number
  measureMs: number
  /** How long to wait for outstanding responses after the window, before counting them as timed out. */
  drainMs: number
}

/** Histograms are HDR, in microseconds, compressed-base64 encoded so they can be merged across threads. */
export interface WorkerResult {
  /** 2xx responses completed in the window (closed loop) or scheduled in the window (open loop). */
  ok: string
  /** 429 responses. */
  throttled: string
  /** Every other status, connection errors and timeouts. */
  other: string
  /** Open loop only: how late each request left, compared with its intended send time. */
  lag: string
  statuses: Record<string, number>
  timeouts: number
  windowMs: number
}
