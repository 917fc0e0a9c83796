import crypto from 'node:crypto'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import * as hdr from 'hdr-histogram-js'
import type { Credentials } from '../sign'
import type { ClientCert, WorkerConfig, WorkerResult } from './protocol'
import { newHistogram } from './recorder'
import { Mix, schedule, Template } from './templates'

export interface LoadOptions {
  port: number
  creds: Credentials
  templates: Template[]
  mix: Mix
  threads: number
  /** Connections in all, spread over the threads. */
  connections: number
  /** Open loop at this total rate (req/s); closed loop when absent. */
  rate?: number
  /** Open loop: latency from the actual send rather than the intended one (see WorkerConfig). */
  latencyFromSend?: boolean
  warmupMs: number
  measureMs: number
  drainMs?: number
  /** Present a client certificate (mTLS). */
  clientCert?: ClientCert
}

export interface LoadResult {
  ok: hdr.Histogram
  throttled: hdr.Histogram
  other: hdr.Histogram
  lag: hdr.Histogram
  statuses: Record<string, number>
  timeouts: number
  windowMs: number
  /** 2xx per second over the window. */
  okRps: number
  /** Responses of any kind (and timeouts) per second over the window. */
  totalRps: number
  non2xx: number
  /** CPU the whole client process used during the run, in cores (e.g. 0.8). */
  clientCores: number
}

const runTag = crypto.randomBytes(4).toString('hex')

/** Runs one load phase on `threads` worker threads and merges their histograms. */
export async function runLoad (o: LoadOptions): Promise<LoadResult> {
  const base: Omit<WorkerConfig, 'thread' | 'rate'> = {
    host: '127.0.0.1',
    port: o.port,
    hostHeader: `127.0.0.1:${o.port}`,
    clientCert: o.clientCert,
    creds: o.creds,
    templates: o.templates,
    order: schedule(o.templates, o.mix),
    runTag,
    connections: Math.ceil(o.connections / o.threads),
    warmupMs: o.warmupMs,
    measureMs: o.measureMs,
    drainMs: o.drainMs ?? 5000,
    latencyFromSend: o.latencyFromSend,
  }
  const workers = Array.from({ length: o.threads }, (_, thread) => new Worker(path.join(__dirname, 'worker.js'), {
    workerData: { ...base, thread, rate: o.rate === undefined ? undefined : o.rate / o.threads },
  }))
  const limitMs = 30_000 + o.warmupMs + o.measureMs + base.drainMs
  try {
    await Promise.all(workers.map(w => message(w, 'ready', 30_000)))
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const results = workers.map(w => message(w, 'result', limitMs))
    workers.forEach(w => w.postMessage('go'))
    const parts = (await Promise.all(results)).map(m => m.result as WorkerResult)
    const cpu = process.cpuUsage(cpu0)
    return merge(parts, (cpu.user + cpu.system) / 1000 / (performance.now() - t0))
  } finally {
    await Promise.all(workers.map(w => w.terminate()))
  }
}

function message (w: Worker, type: string, timeoutMs: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`load worker: no '${type}' within ${timeoutMs} ms`)), timeoutMs)
    const onMessage = (m: any): void => {
      if (m.type !== type && m.type !== 'error') return
      clearTimeout(timer)
      w.off('message', onMessage)
      if (m.type === 'error') reject(new Error('load worker failed: ' + m.message))
      else resolve(m)
    }
    w.on('message', onMessage)
    w.once('error', err => { clearTimeout(timer); reject(err) })
  })
}

function merge (parts: WorkerResult[], clientCores: number): LoadResult {
  const sum = (key: 'ok' | 'throttled' | 'other' | 'lag'): hdr.Histogram => {
    const h = newHistogram()
    for (const p of parts) h.add(hdr.decodeFromCompressedBase64(p[key]))
    return h
  }
  const statuses: Record<string, number> = {}
  for (const p of parts) for (const [k, v] of Object.entries(p.statuses)) statuses[k] = (statuses[k] ?? 0) + v
  const ok = sum('ok')
  const throttled = sum('throttled')
  const other = sum('other')
  const windowMs = parts[0].windowMs
  const total = ok.totalCount + throttled.totalCount + other.totalCount
  return {
    ok,
    throttled,
    other,
    lag: sum('lag'),
    statuses,
    timeouts: parts.reduce((n, p) => n + p.timeouts, 0),
    windowMs,
    okRps: ok.totalCount * 1000 / windowMs,
    totalRps: total * 1000 / windowMs,
    non2xx: throttled.totalCount + other.totalCount,
    clientCores,
  }
}

/** A percentile of a µs histogram, in ms (0 when empty). */
export const pctMs = (h: hdr.Histogram, p: number): number =>
  h.totalCount === 0 ? 0 : (p >= 100 ? h.maxValue : h.getValueAtPercentile(p)) / 1000

/** "non-2xx 0", or the count with its statuses (0 = connection error or timeout). */
export function non2xxText (l: LoadResult): string {
  const bad = Object.entries(l.statuses).filter(([s]) => !s.startsWith('2'))
  return `non-2xx ${l.non2xx}` + (bad.length === 0 ? '' : ` (${bad.map(([s, n]) => `${s}: ${n}`).join(', ')})`)
}
