import path from 'node:path'
import type { BenchConfig } from '../config'
import { callOnce } from '../lib/connection-info'
import { startRedis } from '../lib/redis'
import { treeRss } from '../lib/procstat'
import { non2xxText, pctMs, runLoad } from '../loadgen/run-load'
import { buildTemplates, Ciphertext, encryptTemplate, Template } from '../loadgen/templates'
import type { Credentials } from '../sign'
import { measureServer, ServerFigures } from './measure'
import { startProxy } from './proxy-process'

/** Scenarios c, d and e, on one proxy process tree with its replay cache on a private Redis. */

export interface SteadyFigures extends ServerFigures {
  rssStartMb: number
  rssEndMb: number
  rssGrowthPct: number
}

export interface ProxyResults {
  notes: string[]
  full: ServerFigures
  steady?: SteadyFigures
  overload?: ServerFigures & { rate: number }
}

export async function proxyScenarios (cfg: BenchConfig, dir: string): Promise<ProxyResults> {
  const redis = await startRedis(dir)
  try {
    const proxy = await startProxy(cfg.proxyCli, path.join(dir, 'proxy'), { processes: cfg.processes, redisUrl: redis.url })
    const notes = proxy.notes.slice()
    if (!proxy.redis) notes.push('scenarios c-e ran with the replay cache in memory, not on Redis')
    try {
      const { port, creds } = proxy.info
      const templates = await prepareTemplates(port, creds, proxy.info.uriPrefix, proxy.info.keys.encryptDecrypt)
      const pid = proxy.proc.child.pid!
      const base = { port, creds, templates, mix: cfg.mix, threads: cfg.threads, warmupMs: cfg.warmupMs }

      const full = await measureServer([pid], () => runLoad({ ...base, connections: cfg.connections, measureMs: cfg.measureMs }))
      console.log(`  c. full path, closed loop: ${full.load.okRps.toFixed(0)} req/s (p50 ${pctMs(full.load.ok, 50)} ms, ` +
        `p99 ${pctMs(full.load.ok, 99)} ms), server ${full.serverCores.toFixed(2)} cores, ` +
        `client ${full.load.clientCores.toFixed(2)}, others ${full.foreignCores.toFixed(2)}, ${non2xxText(full.load)}`)
      const results: ProxyResults = { notes, full }

      if (cfg.scenarios.has('d')) {
        let rssStartMb = 0
        const sample = (): number => treeRss(pid).reduce((s, p) => s + p.rssMb, 0)
        const timer = setTimeout(() => { rssStartMb = sample() }, cfg.warmupMs)
        const steady = await measureServer([pid], () => runLoad({
          ...base, connections: cfg.connections, rate: cfg.steadyRate, measureMs: cfg.steadyMs,
        }))
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
        const overload = await measureServer([pid], () => runLoad({
          ...base, connections: cfg.overloadConnections, rate, measureMs: cfg.measureMs,
        }))
        results.overload = { ...overload, rate }
        const l = overload.load
        const answered = l.ok.totalCount + l.throttled.totalCount + l.other.totalCount
        console.log(`  e. overload at ${rate} req/s (2× c): served ${l.ok.totalCount}, 429 ${l.throttled.totalCount}, ` +
          `other ${l.other.totalCount} (${l.timeouts} timeouts) of ${answered}; served p99 ${pctMs(l.ok, 99)} ms, ` +
          `429 p99 ${pctMs(l.throttled, 99)} ms; client send lag p99 ${pctMs(l.lag, 99)} ms, ` +
          `server ${overload.serverCores.toFixed(2)} cores, client ${l.clientCores.toFixed(2)}`)
      }
      return results
    } finally {
      await proxy.proc.stop()
    }
  } finally {
    await redis.server.stop()
  }
}

/** Pre-encrypts the Decrypt ciphertexts through the proxy, then checks every template is answered 200 once. */
async function prepareTemplates (port: number, creds: Credentials, uriPrefix: string, keyId: string): Promise<Template[]> {
  const cts: Ciphertext[] = []
  for (let i = 0; i < 4; i++) {
    const r = await callOnce(port, creds, encryptTemplate(uriPrefix, keyId))
    if (r.status !== 200) throw new Error(`pre-encrypt answered ${r.status}: ${r.body}`)
    const { ciphertext, initializationVector, authenticationTag, ciphertextMetadata } = JSON.parse(r.body)
    cts.push({ ciphertext, initializationVector, authenticationTag, ...(ciphertextMetadata ? { ciphertextMetadata } : {}) })
  }
  const templates = buildTemplates(uriPrefix, keyId, cts)
  for (const t of templates) {
    const r = await callOnce(port, creds, t)
    if (r.status !== 200) throw new Error(`${t.op} answered ${r.status}: ${r.body}`)
  }
  return templates
}
