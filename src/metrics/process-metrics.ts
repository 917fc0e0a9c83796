/**
 * The metrics of one serving process, in its own registry. In a cluster the primary asks every process for its
 * registry over IPC and sums them (prom-client's AggregatorRegistry); with one process the registry is served
 * directly. Gauges read their source only when scraped, so the request path pays for counters alone.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FleetHealth } from '../health/fleet-health'
import type { BackendView } from '../hsm/router'
import type { HsmBackend } from '../hsm/types'
import type { ReplayGuard } from '../replay/types'
import type { AuditStats } from '../audit/sink'
import type { RequestLogEntry } from '../xks/request-log'
import type { BuildInfo } from './build-info'
import { droppedLogLines } from '../log'
import { METRIC } from './names'
import { throttleReason } from './throttle-reason'

// KMS gives a request 250 ms; the buckets are dense below that and sparse above.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2.5]
/** An HSM call's own time: from tens of µs (SoftHSM) to tens of ms (an HSM across a WAN). */
const HSM_CALL_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]
const EKM_STATES = ['ACTIVE', 'DEGRADED', 'UNAVAILABLE'] as const

export interface MetricSources {
  hsm: HsmBackend
  /** Each HSM backend: its breaker, sessions and failover counts. */
  hsmBackends: () => BackendView[]
  health: FleetHealth
  replay: ReplayGuard
  redisConfigured: boolean
  /** Redis errors on the replay path so far (fallbacks + refusals); undefined without Redis. */
  redisErrors: () => number
  /** Read at each scrape: an in-place reload replaces the certificate and the credentials. */
  certNotAfterMs: () => number
  /** Credentials whose issue time is known. */
  credentials: () => ReadonlyArray<{ keyStore: string, accessKeyId: string, createdAtMs: number }>
  fleetSize: () => number
  ready: () => boolean
  /** The audit sink's counts; undefined without `audit`. */
  audit?: () => AuditStats
}

interface RequestChildren { count: Counter.Internal, latency: Histogram.Internal<string> }

export class ProcessMetrics {
  readonly registry = new Registry()
  readonly #requests: Counter
  readonly #requestDuration: Histogram
  readonly #hsmDuration: Histogram
  readonly #replayHits: Counter
  readonly #hsmSessionEvents: Counter
  readonly #hsmCallDuration: Histogram
  readonly #hsmCallChildren = new Map<string, Histogram.Internal<string>>()
  readonly #throttled: Counter
  readonly #policyDecisions: Counter
  /** Pre-bound label children: one lookup per request instead of a label-set hash per metric. */
  readonly #children = new Map<string, RequestChildren>()
  readonly #hsmChildren = new Map<string, Histogram.Internal<string>>()
  readonly #throttledChildren = new Map<string, Map<string, Counter.Internal>>()
  readonly #policyChildren = new Map<string, Counter.Internal>()

  constructor () {
    const registers = [this.registry]
    const labelNames = ['operation', 'key_store', 'status', 'error_name'] as const
    this.#requests = new Counter({ name: METRIC.requests, help: 'XKS requests answered', labelNames, registers })
    this.#requestDuration = new Histogram({ name: METRIC.requestDuration, help: 'XKS request latency', labelNames, buckets: LATENCY_BUCKETS, registers })
    this.#hsmDuration = new Histogram({ name: METRIC.hsmDuration, help: 'PKCS#11 operation latency, pool queue wait included', labelNames: ['operation', 'outcome'], buckets: LATENCY_BUCKETS, registers })
    this.#hsmCallDuration = new Histogram({ name: METRIC.hsmCallDuration, help: 'Time an operation spent in the HSM (its PKCS#11 calls), per HSM backend', labelNames: ['backend'], buckets: HSM_CALL_BUCKETS, registers })
    this.#hsmSessionEvents = new Counter({ name: METRIC.hsmSessionEvents, help: 'PKCS#11 session opens and recoveries', labelNames: ['event'], registers })
    this.#replayHits = new Counter({ name: METRIC.replayHits, help: 'Requests refused because their signature was already used', registers })
    this.#throttled = new Counter({ name: METRIC.throttled, help: 'Requests answered 429 ThrottlingException, by key store and reason', labelNames: ['key_store', 'reason'], registers })
    this.#policyDecisions = new Counter({ name: METRIC.policyDecisions, help: 'Requests decided by a key store policy, by deciding statement', labelNames: ['key_store', 'statement', 'decision'], registers })
    collectDefaultMetrics({ register: this.registry })
  }

  /** Makes this registry the one the cluster primary collects over IPC (and answers its requests). */
  shareWithPrimary (): void {
    AggregatorRegistry.setRegistries([this.registry])
    // Constructing one installs prom-client's worker-side IPC listener.
    void new AggregatorRegistry()
  }

  /** Called next to the request log line (src/xks/pipeline.ts). */
  observeRequest (entry: RequestLogEntry): void {
    const key = `${entry.operation ?? 'none'}|${entry.keyStore ?? 'none'}|${entry.status}|${entry.errorName ?? ''}`
    let children = this.#children.get(key)
    if (children === undefined) {
      const labels = { operation: entry.operation ?? 'none', key_store: entry.keyStore ?? 'none', status: String(entry.status), error_name: entry.errorName ?? '' }
      children = { count: this.#requests.labels(labels), latency: this.#requestDuration.labels(labels) }
      this.#children.set(key, children)
    }
    children.count.inc()
    children.latency.observe(entry.latencyMs / 1000)
    if (entry.status === 429) this.#countThrottled(entry.keyStore ?? 'none', throttleReason(entry.detail))
    if (entry.policySid !== undefined) this.#countDecision(entry.keyStore ?? 'none', entry.policySid, entry.status === 403 ? 'deny' : 'allow')
  }

  /** On the 429 path, whose cost matters most under overload: two Map lookups, no key string built. */
  #countThrottled (keyStore: string, reason: string): void {
    let byReason = this.#throttledChildren.get(keyStore)
    if (byReason === undefined) this.#throttledChildren.set(keyStore, byReason = new Map())
    let child = byReason.get(reason)
    if (child === undefined) byReason.set(reason, child = this.#throttled.labels({ key_store: keyStore, reason }))
    child.inc()
  }

  #countDecision (keyStore: string, statement: string, decision: string): void {
    const key = `${keyStore}|${statement}|${decision}`
    let child = this.#policyChildren.get(key)
    if (child === undefined) {
      child = this.#policyDecisions.labels({ key_store: keyStore, statement, decision })
      this.#policyChildren.set(key, child)
    }
    child.inc()
  }

  observeHsmSessionEvent (event: string): void {
    this.#hsmSessionEvents.labels({ event }).inc()
  }

  observeHsmCall (backend: string, seconds: number): void {
    let child = this.#hsmCallChildren.get(backend)
    if (child === undefined) {
      child = this.#hsmCallDuration.labels({ backend })
      this.#hsmCallChildren.set(backend, child)
    }
    child.observe(seconds)
  }

  observeHsm (operation: string, ok: boolean, seconds: number): void {
    const key = ok ? operation : operation + '!'
    let child = this.#hsmChildren.get(key)
    if (child === undefined) {
      child = this.#hsmDuration.labels({ operation, outcome: ok ? 'ok' : 'error' })
      this.#hsmChildren.set(key, child)
    }
    child.observe(seconds)
  }

  replayHit (): void {
    this.#replayHits.inc()
  }

  /** `xksgate_build_info`: 1, labelled with what runs; max across a cluster's processes, which run one build. */
  buildInfo (info: BuildInfo): void {
    const labels = { version: info.version, commit: info.commit, node_version: info.node, frontend: info.frontend, uws_build: info.uwsBuild }
    new Gauge({ name: METRIC.buildInfo, help: 'The running build (value 1)', labelNames: Object.keys(labels), registers: [this.registry], aggregator: 'max' }).set(labels, 1)
  }

  /** Gauges that read their sources at scrape time. */
  attach (s: MetricSources): void {
    const registers = [this.registry]
    const gauge = (name: string, help: string, read: () => number, aggregator: 'sum' | 'min' | 'max' = 'sum'): void => {
      // eslint-disable-next-line no-new
      new Gauge({ name, help, registers, aggregator, collect () { this.set(read()) } })
    }
    gauge(METRIC.hsmQueueDepth, 'HSM operations waiting for a worker thread', () => s.hsm.stats().queued)
    gauge(METRIC.hsmInFlight, 'HSM operations handed to a worker thread', () => s.hsm.stats().inFlight)
    gauge(METRIC.hsmSessions, 'PKCS#11 sessions open and logged in', () => s.hsm.stats().sessionsOpen)
    /** A counter that follows a running total kept elsewhere, read at scrape time. */
    const counter = (name: string, help: string, read: () => number): void => {
      let seen = 0
      const c = new Counter({
        name, help, registers, collect () {
          const now = read()
          this.inc(now - seen)
          seen = now
        }
      })
      c.inc(0)
    }
    counter(METRIC.logLinesDropped, 'Log lines dropped: stdout was not read and 16 MiB were waiting', droppedLogLines)
    counter(METRIC.hsmBatches, 'Batches of operations sent to the HSM worker threads', () => s.hsm.stats().batches)
    counter(METRIC.hsmBatchedOps, 'Operations carried by those batches', () => s.hsm.stats().batchedOps)
    const local = (): ReturnType<ReplayGuard['localStats']> => s.replay.localStats()
    gauge(METRIC.replayLocalEntries, 'Live signatures in the in-process replay table', () => local().size)
    gauge(METRIC.replayLocalCapacity, 'Signatures the in-process replay table holds at most', () => local().capacity)
    gauge(METRIC.replayLocalBytes, 'Bytes the in-process replay table holds (allocated at startup)', () => local().bytes)
    counter(METRIC.replayLocalRefusals, 'Requests refused with 429: no room left in the in-process replay table', () => local().refusals)
    gauge(METRIC.certDaysToExpire, 'Days until the TLS certificate expires', () => (s.certNotAfterMs() - Date.now()) / 86_400_000, 'min')
    // eslint-disable-next-line no-new
    new Gauge({
      name: METRIC.credentialAge,
      help: 'Days since each SigV4 credential was issued (createdAt, or the secret file\'s modification time)',
      labelNames: ['key_store', 'access_key_id'],
      registers,
      // The same in every process; during a reload the oldest view wins.
      aggregator: 'max',
      collect () {
        // A credential removed by a reload leaves the series.
        this.reset()
        for (const c of s.credentials()) this.set({ key_store: c.keyStore, access_key_id: c.accessKeyId }, (Date.now() - c.createdAtMs) / 86_400_000)
      },
    })
    gauge(METRIC.fleetSize, 'Live proxy instances seen in Redis', s.fleetSize, 'max')
    gauge(METRIC.ready, 'Serving processes whose /readyz answers 200', () => s.ready() ? 1 : 0)
    const audit = s.audit
    if (audit !== undefined) {
      counter(METRIC.auditDropped, 'Audit records dropped: the disk could not keep up and the buffer was full', () => audit().dropped)
      counter(METRIC.auditWriteErrors, 'Failed writes of the audit file (retried)', () => audit().writeErrors)
      gauge(METRIC.auditBuffered, 'Audit bytes waiting for the disk', () => audit().bufferedBytes)
    }
    if (s.redisConfigured) {
      gauge(METRIC.replayRedisUp, 'Serving processes that reach Redis', () => s.replay.status().degraded ? 0 : 1)
      gauge(METRIC.replayRedisBacklog, 'Signatures accepted during a Redis outage and not yet written to Redis', () => s.replay.status().backlog ?? 0)
      counter(METRIC.replayRedisErrors, 'Replay checks Redis did not answer in budget', s.redisErrors)
    }
    this.#attachBackends(s)
    // eslint-disable-next-line no-new
    new Gauge({
      name: METRIC.ekmState,
      help: 'EKM health state seen by the deep health check (1 = current)',
      labelNames: ['state'],
      registers,
      collect () {
        const current = s.health.latest()?.status
        for (const state of EKM_STATES) this.set({ state }, current === state ? 1 : 0)
      },
    })
  }

  /** Per HSM backend, labelled `backend` (its configured name). */
  #attachBackends (s: MetricSources): void {
    const registers = [this.registry]
    const labelNames = ['backend'] as const
    /* eslint-disable no-new */
    new Gauge({
      name: METRIC.hsmBackendState,
      help: 'State of each HSM backend, its circuit breaker included (1 = current)',
      labelNames: ['backend', 'state'],
      registers,
      collect () {
        for (const { name, snapshot } of s.health.latest()?.backends ?? []) {
          for (const state of EKM_STATES) this.set({ backend: name, state }, snapshot.status === state ? 1 : 0)
        }
      },
    })
    new Gauge({
      name: METRIC.hsmBackendSessions,
      help: 'PKCS#11 sessions open and logged in, per HSM backend',
      labelNames,
      registers,
      collect () { for (const b of s.hsmBackends()) this.set({ backend: b.name }, b.stats.sessionsOpen) },
    })
    new Gauge({
      name: METRIC.hsmBackendConcurrency,
      help: 'Operations in the HSM now, per HSM backend',
      labelNames,
      registers,
      collect () { for (const b of s.hsmBackends()) this.set({ backend: b.name }, b.stats.inFlight) },
    })
    new Gauge({
      name: METRIC.hsmBackendConcurrencyLimit,
      help: 'Operations the HSM backend may have at once, learnt from its latency',
      labelNames,
      registers,
      collect () { for (const b of s.hsmBackends()) this.set({ backend: b.name }, b.stats.concurrencyLimit) },
    })
    /* eslint-enable no-new */
    const perBackendCounter = (name: string, help: string, read: (b: BackendView) => number): void => {
      const seen = new Map<string, number>()
      // eslint-disable-next-line no-new
      new Counter({
        name, help, labelNames, registers, collect () {
          for (const b of s.hsmBackends()) {
            const now = read(b)
            this.inc({ backend: b.name }, now - (seen.get(b.name) ?? 0))
            seen.set(b.name, now)
          }
        }
      })
    }
    perBackendCounter(METRIC.hsmBreakerOpens, 'Times an HSM backend was taken out of the routing by its circuit breaker', b => b.opened)
    perBackendCounter(METRIC.hsmFailovers, 'Operations that failed on this HSM backend and were retried on another', b => b.failedOver)
    perBackendCounter(METRIC.hsmHedges, 'Operations slower than this HSM backend\'s recent p95 also sent to another backend (hsm[].hedge)', b => b.hedged)
    perBackendCounter(METRIC.hsmHedgesWon, 'Hedged operations of this HSM backend that the other backend answered first', b => b.hedgesWon)
  }
}
