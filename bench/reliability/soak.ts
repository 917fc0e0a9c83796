import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { startRedis } from '../lib/redis'
import { cleanupOnExit, killAllNow } from '../lib/procs'
import { processTree, rssMb } from '../lib/procstat'
import { non2xxText, pctMs, runLoad } from '../loadgen/run-load'
import { DEFAULT_MIX } from '../loadgen/templates'
import { startFaultProxy } from './proxy'

const USAGE = `usage: npm run soak -- [--minutes M] [--rate R] [--processes N] [--sample S]

  The mixed workload (encrypt:4,decrypt:4,metadata:1,health:1) in an open loop at R req/s (default 1800) for M
  minutes (default 10) on the proxy with its replay cache on a private Redis; every S seconds (default 10) RSS,
  heap, open file descriptors and event-loop lag p99 of the proxy, and Redis's RSS.
`

interface Sample { s: number, rssMb: number, heapMb: number, fds: number, lagP99Ms: number, redisRssMb: number }

const fdCount = (pid: number): number => { try { return fs.readdirSync(`/proc/${pid}/fd`).length } catch { return 0 } }

function scrape (url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, res => { let body = ''; res.setEncoding('utf8').on('data', d => { body += d }).on('end', () => resolve(body)) }).on('error', reject)
  })
}

/** The first sample line of `name` (summed over processes by the cluster's aggregated registry). */
const metric = (text: string, name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, rate: { type: 'string', default: '1800' }, processes: { type: 'string', default: '1' }, sample: { type: 'string', default: '10' }, help: { type: 'boolean', default: false } } })
  if (values.help) { process.stdout.write(USAGE); return }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-soak-'))
  cleanupOnExit(workDir)
  const redis = await startRedis(workDir)
  const processes = Number(values.processes)
  const proxy = await startFaultProxy(path.join(workDir, 'dev'), 'soak', { processes, redisUrl: redis.url, env: { XKSGATE__log__level: 'warn' } })
  const rate = Number(values.rate)
  const measureMs = Number(values.minutes) * 60_000
  const everyMs = Number(values.sample) * 1000
  const started = new Date()
  console.log(`xksgate soak: ${rate} req/s for ${values.minutes} min, ${processes} process(es), Redis replay cache; ` +
    `${os.cpus().length} cores, load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`)
  const samples: Sample[] = []
  const t0 = Date.now()
  const sample = async (): Promise<void> => {
    const text = await scrape(proxy.info.metricsUrl!).catch(() => '')
    const tree = processTree(proxy.pid)
    const s: Sample = {
      s: Math.round((Date.now() - t0) / 1000),
      rssMb: tree.reduce((sum, p) => sum + rssMb(p), 0),
      heapMb: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
      fds: tree.reduce((sum, p) => sum + fdCount(p), 0),
      lagP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000 / processes,
      redisRssMb: rssMb(redis.server.child.pid!),
    }
    samples.push(s)
    console.log(`  ${String(s.s).padStart(4)} s  RSS ${s.rssMb.toFixed(1)} MB  heap ${s.heapMb.toFixed(1)} MB  FDs ${s.fds}  ` +
      `event-loop lag p99 ${s.lagP99Ms.toFixed(1)} ms  Redis RSS ${s.redisRssMb.toFixed(1)} MB`)
  }
  await sample()
  const timer = setInterval(() => { void sample() }, everyMs)
  const load = await runLoad({ port: proxy.port, creds: proxy.creds, templates: proxy.templates, mix: DEFAULT_MIX, threads: 1, connections: 32, rate, warmupMs: 0, measureMs })
  clearInterval(timer)
  await sample()
  await proxy.proc.stop()
  await redis.server.stop()
  report(started, samples, load, rate, measureMs)
}

function report (started: Date, samples: Sample[], load: Awaited<ReturnType<typeof runLoad>>, rate: number, measureMs: number): void {
  // A signature is remembered until its X-Amz-Date + auth.maxSkewSeconds (300 s): the replay cache fills for
  // 300 s and then stays level. Growth is measured from the sample nearest the plateau (half-way, in a shorter
  // run) to the end.
  const last = samples[samples.length - 1]
  const plateauS = Math.min(300, last.s / 2)
  const from = samples.find(s => s.s >= plateauS) ?? samples[0]
  const growth = (last.rssMb - from.rssMb) * 100 / from.rssMb
  // Timeouts are in non2xx already (status 0).
  const failed = load.non2xx
  console.log(`\n${started.toISOString()}: ${Math.round(load.totalRps * measureMs / 1000)} requests (${load.totalRps.toFixed(0)} req/s of ${rate} offered), ` +
    `ok p50 ${pctMs(load.ok, 50)} ms, p99 ${pctMs(load.ok, 99)} ms, max ${pctMs(load.ok, 100)} ms, ${non2xxText(load)}`)
  console.log(`RSS ${from.rssMb.toFixed(1)} MB at ${from.s} s → ${last.rssMb.toFixed(1)} MB at ${last.s} s (${growth.toFixed(1)}%); ` +
    `FDs ${samples[1]?.fds ?? from.fds} → ${last.fds}; failed requests ${failed}\n`)
  console.log('| t (s) | RSS (MB) | heap used (MB) | open FDs | event-loop lag p99 (ms) | Redis RSS (MB) |')
  console.log('|---|---|---|---|---|---|')
  for (const s of samples) console.log(`| ${s.s} | ${s.rssMb.toFixed(1)} | ${s.heapMb.toFixed(1)} | ${s.fds} | ${s.lagP99Ms.toFixed(1)} | ${s.redisRssMb.toFixed(1)} |`)
  if (growth >= 10 || failed > 0 || last.fds > (samples[1]?.fds ?? from.fds) + 4) process.exitCode = 1
}

main().catch(err => {
  console.error('soak failed:', err instanceof Error ? err.stack : err)
  killAllNow()
  process.exitCode = 1
}).finally(() => killAllNow())
