/**
 * `node dist/bench/hsm-latency.js LATENCY_MS [--proxy-cli PATH] [--env NAME=VALUE ...] [--open-connections N]`: the
 * proxy in front of an HSM LATENCY_MS away (the shaped module of docs/shaped-hsm.md over SoftHSM, latency on each
 * C_Encrypt and C_Decrypt), 64 connections of signed 4 KiB Encrypts: the closed-loop maximum, then an open loop at
 * KMS's 1,800 req/s (latency from the intended send) on 64 connections, or N: an open loop past what the HSM can
 * take needs more connections than the answers in flight, or the client itself holds the excess back.
 * `--restart-at-ms MS`: that far into the open loop's measurement, every session of the HSM is invalidated at once
 * (an HSM restart, an HA failover); the line then says how many operations the HSM had in flight at that instant
 * and how many requests failed within the second after it and later. One JSON line. `--proxy-cli` measures another build (e.g. the
 * main branch's dist/src/dev/cli.js) with this one's client, and `--env` sets a configuration override for it
 * (`XKSGATE__hsm__threads=8`), so two designs are measured the same way, back to back. `--naive` then runs the
 * naive baseline (bench/baselines/naive-server.ts) on the same HSM in the same closed loop, for the ratio.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildShapedModule, createShapedHsm, type ShapedControl } from '../test/helpers/shaped-hsm'
import { freePort } from '../src/dev/free-port'
import { readConnection, readCounters } from './lib/connection-info'
import { killAllNow, start, waitForFile } from './lib/procs'
import { treeCpuSeconds } from './lib/procstat'
import { proxyCli } from './lib/repo'
import { runLoad } from './loadgen/run-load'
import { encryptTemplate } from './loadgen/templates'
import { startNaiveServer } from './scenarios/naive'

const CONNECTIONS = 64
const RATE = 1800

interface Args { latencyMs: number, cli: string | undefined, env: Record<string, string>, openConnections: number, restartAtMs?: number, naive: boolean }

function args (): Args {
  const argv = process.argv.slice(2)
  const latencyMs = Number(argv[0])
  if (!(latencyMs >= 0)) throw new Error('usage: hsm-latency.js LATENCY_MS [--proxy-cli PATH] [--env NAME=VALUE ...] [--open-connections N]')
  const env: Record<string, string> = {}
  let cli: string | undefined
  let openConnections = CONNECTIONS
  let restartAtMs: number | undefined
  let naive = false
  for (let i = 1; i < argv.length; i++) {
    const flag = argv[i]
    if (flag === '--naive') {
      naive = true
      continue
    }
    const value = argv[++i]
    if (flag === '--proxy-cli') cli = value
    else if (flag === '--open-connections' && Number(value) >= 1) openConnections = Number(value)
    else if (flag === '--restart-at-ms' && Number(value) >= 0) restartAtMs = Number(value)
    else if (flag === '--env' && value?.includes('=')) env[value.split('=')[0]] = value.slice(value.indexOf('=') + 1)
    else throw new Error(`unknown argument ${flag}`)
  }
  return { latencyMs, cli, env, openConnections, restartAtMs, naive }
}

async function main (): Promise<void> {
  const { latencyMs, cli, env, openConnections, restartAtMs, naive } = args()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-hsm-latency-'))
  const port = await freePort()
  // The cached library has no .conf beside it, so it takes its shaping from the environment (docs/shaped-hsm.md);
  // a restart needs the control file of an instance of its own.
  const shaped = restartAtMs === undefined ? undefined : createShapedHsm(path.join(dir, 'shaped'), { latencyMs })
  const shaping = { SHAPED_HSM_LATENCY_US: String(Math.round(latencyMs * 1000)), XKSGATE__log__level: 'warn' }
  const modulePath = shaped?.modulePath ?? buildShapedModule()
  const proc = start(process.execPath, [proxyCli(cli), '--dir', dir, '--port', String(port), '--softhsm-module', modulePath],
    `${dir}.log`, { env: { ...process.env, ...shaping, ...env } })
  try {
    await waitForFile(proc, path.join(dir, 'connection.json'), 120_000)
    const info = readConnection(path.join(dir, 'connection.json'))
    const base = {
      port: info.port,
      creds: info.creds,
      templates: [encryptTemplate(info.uriPrefix, info.keys.encryptDecrypt)],
      mix: { encrypt: 1, decrypt: 0, metadata: 0, health: 0 },
      threads: 2,
      connections: CONNECTIONS,
      warmupMs: 2000,
    }
    const watch = (): Watch => watchProxy(proc.child.pid!, info.metricsUrl)
    const closedWatch = watch()
    const closedLoop = { ...base, measureMs: 8000 }
    const closed = await runLoad(closedLoop)
    const closedSeen = await closedWatch.stop(closed.okRps + closed.non2xx / 10)
    const openWatch = watch()
    const restart = shaped === undefined || info.metricsUrl === undefined
      ? undefined
      : restartDuring(shaped.control, info.metricsUrl, base.warmupMs + (restartAtMs ?? 0))
    const open = await runLoad({ ...base, connections: openConnections, rate: RATE, measureMs: 10_000 })
    const openSeen = await openWatch.stop(open.okRps)
    const restarted = await restart?.()
    await proc.stop()
    const naiveRps = naive ? await naiveClosedLoop(path.join(dir, 'naive'), modulePath, { ...process.env, ...shaping }, closedLoop) : undefined
    const ms = (p: number, h = open.ok): number => Math.round(h.getValueAtPercentile(p) / 100) / 10
    console.log(JSON.stringify({
      latencyMs, env, closedRps: Math.round(closed.okRps), closedNon2xx: closed.non2xx, closedStatuses: closed.statuses, closed: closedSeen,
      ...(naiveRps !== undefined && { naiveClosedRps: Math.round(naiveRps), closedVsNaive: Math.round(closed.okRps / naiveRps * 10) / 10 }),
      at1800: {
        servedRps: Math.round(open.okRps), p50Ms: ms(50), p99Ms: ms(99), p999Ms: ms(99.9), non2xx: open.non2xx, statuses: open.statuses,
        // A capped HSM's excess should be a quick 429: its latency from the intended send, as the 200s'.
        ...(open.throttled.totalCount > 0 && { throttledP99Ms: ms(99, open.throttled) }),
        ...openSeen,
      },
      ...(restarted !== undefined && { restart: restarted }),
      loadAverage: os.loadavg().map(l => Math.round(l * 10) / 10),
    }))
  } finally {
    await proc.stop()
    shaped?.control.close()
    killAllNow()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The naive baseline (bench/baselines/naive-server.ts: node:https, pkcs11js called synchronously on the main
 * thread) on the same shaped HSM, in the same closed loop as the proxy's: its requests answered a second.
 */
async function naiveClosedLoop (dir: string, modulePath: string, env: NodeJS.ProcessEnv, base: Parameters<typeof runLoad>[0]): Promise<number> {
  const { server: naive, info } = await startNaiveServer(dir, `${dir}.log`, { env: { ...env, XKSGATE__hsm__modulePath: modulePath } })
  try {
    const load = await runLoad({ ...base, port: info.port, creds: info.creds, templates: [encryptTemplate(info.uriPrefix, info.keys.encryptDecrypt)] })
    return load.okRps
  } finally {
    await naive.stop()
  }
}

/** Requests answered with anything but 200, from the proxy's /metrics. */
async function failedRequests (metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text()
  return text.split('\n').filter(l => l.startsWith('xksgate_requests_total{') && !l.includes('status="200"'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

/**
 * After `atMs`, invalidates every session of the HSM at once, reading first how many operations the HSM has in
 * flight; resolves, once called after the load, with that count and the requests that failed in the second
 * after the restart and after that second.
 */
function restartDuring (control: ShapedControl, metricsUrl: string, atMs: number): () => Promise<Record<string, number>> {
  const seen = new Promise<Record<string, number>>((resolve, reject) => {
    setTimeout(() => {
      void (async () => {
        const before = await failedRequests(metricsUrl)
        const inFlight = (await readCounters(metricsUrl, [GAUGES[0]]))[GAUGES[0]]
        control.restart()
        await new Promise(resolve => setTimeout(resolve, 1000))
        return { before, inFlight, withinASecond: await failedRequests(metricsUrl) }
      })().then(resolve, reject)
    }, atMs)
  })
  return async () => {
    const { before, inFlight, withinASecond } = await seen
    const end = await failedRequests(metricsUrl)
    return { inFlightAtRestart: inFlight, failedWithin1s: withinASecond - before, failedAfter1s: end - withinASecond }
  }
}

interface Watch { stop: (reqPerSec: number) => Promise<Record<string, number>> }

const GAUGES = ['xksgate_hsm_backend_concurrency', 'xksgate_hsm_backend_concurrency_limit'] as const

/**
 * What the proxy spent and did during a phase, warm-up included: its CPU (all its processes and threads) per
 * request at the phase's rate, and the HSM concurrency and its learnt limit, sampled every 250 ms (mean, max).
 */
function watchProxy (pid: number, metricsUrl: string | undefined): Watch {
  const cpu0 = treeCpuSeconds(pid)
  const t0 = performance.now()
  const samples: Array<Record<string, number>> = []
  const timer = setInterval(() => {
    if (metricsUrl !== undefined) readCounters(metricsUrl, GAUGES).then(s => samples.push(s), () => {})
  }, 250)
  return {
    stop: async reqPerSec => {
      clearInterval(timer)
      const seconds = (performance.now() - t0) / 1000
      const cores = (treeCpuSeconds(pid) - cpu0) / seconds
      const stat = (name: string): number[] => samples.map(s => s[name])
      const mean = (xs: number[]): number => xs.length === 0 ? 0 : Math.round(xs.reduce((a, b) => a + b, 0) / xs.length * 10) / 10
      return {
        proxyCores: Math.round(cores * 100) / 100,
        cpuUsPerReq: reqPerSec > 0 ? Math.round(cores / reqPerSec * 1e6) : 0,
        inHsmMean: mean(stat(GAUGES[0])),
        inHsmMax: Math.max(0, ...stat(GAUGES[0])),
        limitMean: mean(stat(GAUGES[1])),
        limitMax: Math.max(0, ...stat(GAUGES[1])),
      }
    },
  }
}

main().catch((err: unknown) => {
  console.error(err)
  killAllNow()
  process.exitCode = 1
})
