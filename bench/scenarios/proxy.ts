import type { BenchConfig } from '../config'
import { readCounters } from '../lib/connection-info'
import { treeRss } from '../lib/procstat'
import { non2xxText, pctMs, runLoad } from '../loadgen/run-load'
import { measureServer, ServerFigures } from './measure'
import { prepareTemplates } from './prepare'
import { startProxy } from './proxy-process'

/** Scenarios c, d and e, on one proxy process tree with its replay cache on a private Redis. */

export interface SteadyFigures extends ServerFigures {
  rssStartMb: number
  rssEndMb: number
  rssGrowthPct: number
}

export interface ProxyResults {
  notes: string[]
  /** Whether the proxy took --redis (the naive baseline then gets the same replay cache). */
  redis: boolean
  full: ServerFigures
  /** Operations per batch sent to the HSM threads during c (from the proxy's own counters). */
  meanBatch?: number
  /**
   * Full (mark-compact) collections per 10,000 requests during c. A request's objects should die young; a rise
   * here means something promotes them (bench/README.md "Full collections in the request path").
   */
  majorGcsPer10k?: number
  steady?: SteadyFigures
  overload?: ServerFigures & { rate: number }
}

export interface BenchRedis { url: string, pid: number }

const MAJOR_GCS = 'nodejs_gc_duration_seconds_count{kind="major"}'
const C_COUNTERS = ['xksgate_hsm_batches_total', 'xksgate_hsm_batched_operations_total', 'xksgate_requests_total', MAJOR_GCS] as const

/**
 * `dir` becomes the proxy's dev environment; the naive baseline reuses it afterwards. The server figures include
 * redis-server, which does the replay cache's share of the work.
 */
export async function proxyScenarios (cfg: BenchConfig, dir: string, redis: BenchRedis): Promise<ProxyResults> {
  const proxy = await startProxy(cfg.proxyCli, dir, { processes: cfg.processes, redisUrl: redis.url })
  const notes = proxy.notes.slice()
  if (!proxy.redis) notes.push('scenarios c-e ran with the replay cache in memory, not on Redis')
  try {
    const { port, creds } = proxy.info
    const templates = await prepareTemplates(port, creds, proxy.info.uriPrefix, proxy.info.keys.encryptDecrypt)
    const pid = proxy.proc.child.pid!
    const pids = [pid, redis.pid]
    const base = { port, creds, templates, mix: cfg.mix, threads: cfg.threads, warmupMs: cfg.warmupMs }

    const metricsUrl = proxy.info.metricsUrl
    const counters0 = metricsUrl === undefined ? undefined : await readCounters(metricsUrl, C_COUNTERS)
    const full = await measureServer(cfg, pids, () => runLoad({ ...base, connections: cfg.connections, measureMs: cfg.measureMs }))
    const counters1 = metricsUrl === undefined ? undefined : await readCounters(metricsUrl, C_COUNTERS)
    console.log(`  c. full path, closed loop: ${full.load.okRps.toFixed(0)} req/s (p50 ${pctMs(full.load.ok, 50)} ms, ` +
      `p99 ${pctMs(full.load.ok, 99)} ms), server ${full.serverCores.toFixed(2)} cores, ` +
      `client ${full.load.clientCores.toFixed(2)}, others ${full.foreignCores.toFixed(2)}, ${non2xxText(full.load)}`)
    const results: ProxyResults = { notes, redis: proxy.redis, full }
    if (counters0 !== undefined && counters1 !== undefined) {
      const delta = (name: typeof C_COUNTERS[number]): number => counters1[name] - counters0[name]
      results.meanBatch = delta('xksgate_hsm_batched_operations_total') / Math.max(1, delta('xksgate_hsm_batches_total'))
      // Warm-up included: the counters are read around the whole run.
      results.majorGcsPer10k = delta(MAJOR_GCS) * 10_000 / Math.max(1, delta('xksgate_requests_total'))
      console.log(`  c. HSM batches: ${results.meanBatch.toFixed(1)} operations per batch on average; ` +
        `${results.majorGcsPer10k.toFixed(1)} full collections per 10,000 requests`)
    }

    if (cfg.scenarios.has('d')) {
      let rssStartMb = 0
      const sample = (): number => treeRss(pid).reduce((s, p) => s + p.rssMb, 0)
      let timer: NodeJS.Timeout | undefined
      const steady = await measureServer(cfg, pids, () => {
        // RSS at the start of the measured window, i.e. after the warm-up.
        timer = setTimeout(() => { rssStartMb = sample() }, cfg.warmupMs)
        return runLoad({ ...base, connections: cfg.connections, rate: cfg.steadyRate, measureMs: cfg.steadyMs })
      })
      clearTimeout(timer)
      const rssEndMb = sample()
      results.steady = { ...steady, rssStartMb, rssEndMb, rssGrowthPct: (rssEndMb - rssStartMb) * 100 / rssStartMb }
      const l = steady.load
      console.log(`  d. ${cfg.steadyRate} req/s open loop, ${cfg.steadyMs / 1000} s: p50 ${pctMs(l.ok, 50)} ms, ` +
        `p99 ${pctMs(l.ok, 99)}, p99.9 ${pctMs(l.ok, 99.9)}, max ${pctMs(l.ok, 100)} ms ` +
        `(client send lag p99 ${pctMs(l.lag, 99)} ms), ${non2xxText(l)}; ` +
        `RSS ${rssStartMb.toFixed(1)} → ${rssEndMb.toFixed(1)} MB (${results.steady.rssGrowthPct.toFixed(1)}%)`)
    }

    if (cfg.scenarios.has('e')) {
      const rate = Math.round(2 * full.load.okRps)
      const overload = await measureServer(cfg, pids, () => runLoad({
        ...base, connections: cfg.overloadConnections, rate, measureMs: cfg.measureMs, latencyFromSend: true,
      }))
      results.overload = { ...overload, rate }
      const l = overload.load
      const answered = l.ok.totalCount + l.throttled.totalCount + l.other.totalCount
      console.log(`  e. overload at ${rate} req/s (2× c): served ${l.ok.totalCount}, 429 ${l.throttled.totalCount}, ` +
        `other ${l.other.totalCount} of ${answered} [${non2xxText(l)}]; served p99 ${pctMs(l.ok, 99)} ms, ` +
        `429 p99 ${pctMs(l.throttled, 99)} ms (from the actual send); client send lag p99 ${pctMs(l.lag, 99)} ms, ` +
        `server ${overload.serverCores.toFixed(2)} cores, client ${l.clientCores.toFixed(2)}`)
    }
    return results
  } finally {
    await proxy.proc.stop()
  }
}

/**
 * Scenario g: the same closed loop as c on a proxy with `processes` serving processes (one HSM thread each, the
 * README's 2-core sizing), to show how throughput scales with processes.
 */
export async function scalingScenario (cfg: BenchConfig, dir: string, redis: BenchRedis, processes: number): Promise<ServerFigures> {
  const proxy = await startProxy(cfg.proxyCli, dir, { processes, redisUrl: redis.url })
  try {
    const { port, creds } = proxy.info
    const templates = await prepareTemplates(port, creds, proxy.info.uriPrefix, proxy.info.keys.encryptDecrypt)
    const f = await measureServer(cfg, [proxy.proc.child.pid!, redis.pid], () => runLoad({
      port, creds, templates, mix: cfg.mix, threads: cfg.threads, connections: cfg.connections, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs,
    }))
    f.label = `${processes} processes`
    console.log(`  g. full path, ${processes} processes, closed loop: ${f.load.okRps.toFixed(0)} req/s (p99 ${pctMs(f.load.ok, 99)} ms), ` +
      `server ${f.serverCores.toFixed(2)} cores, client ${f.load.clientCores.toFixed(2)}, others ${f.foreignCores.toFixed(2)}, ${non2xxText(f.load)}`)
    return f
  } finally {
    await proxy.proc.stop()
  }
}
