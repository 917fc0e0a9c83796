import path from 'node:path'
import type { BenchConfig } from '../config'
import { non2xxText, pctMs, runLoad, type LoadResult } from '../loadgen/run-load'
import { createShapedHsm } from '../../test/helpers/shaped-hsm'
import { measureServer, type ServerFigures } from './measure'
import { startNaiveServer } from './naive'
import { prepareTemplates } from './prepare'
import { startProxy } from './proxy-process'

/**
 * Scenario h, "network HSM": the HSM an appliance `latencyMs` away, through the shaped HSM (docs/shaped-hsm.md)
 * forwarding to SoftHSM, a fixed round trip added to each cryptographic operation. At each latency: the proxy
 * with its defaults against the naive baseline (scenario f's server) in a closed loop, then the proxy in an open
 * loop at cfg.steadyRate (1,800 req/s, KMS's rate per key store); the floor is the transport's p50 at that rate
 * (scenario a) plus the latency. Both servers run on their own dev environment behind one shaped HSM. The naive
 * server stays up across latencies (it learns nothing); the proxy is started anew at each, with the HSM already
 * that far away, as an operator's would be: how a proxy kept busy follows a rise of its HSM's latency
 * (docs/operations.md, "An HSM whose own latency rises while it is busy") is not what this scenario measures.
 */

export interface NetHsmFigures {
  latencyMs: number
  proxy: ServerFigures
  naive: ServerFigures
  open: ServerFigures
  /** Transport p50 at the open loop's rate plus latencyMs; undefined without scenario a. */
  floorMs?: number
}

/** An open loop must offer every request at its time: more connections than the closed loop's, as KMS has. */
const OPEN_LOOP_CONNECTIONS = 256

export async function netHsmScenario (cfg: BenchConfig, dir: string, redis: { url: string, pid: number },
  transportP50Ms: number | undefined): Promise<NetHsmFigures[]> {
  const shaped = createShapedHsm(path.join(dir, 'shaped'))
  const env = { ...process.env, XKSGATE__hsm__modulePath: shaped.modulePath }
  const naiveDir = path.join(dir, 'naive')
  const { server: naive, info: naiveInfo } = await startNaiveServer(naiveDir, `${naiveDir}.log`, { redisUrl: redis.url, env })
  try {
    const naiveLoad = await loadOn(cfg, naiveInfo)
    const figures: NetHsmFigures[] = []
    for (const latencyMs of cfg.hsmLatenciesMs) {
      shaped.control.set({ latencyMs })
      const proxy = await startProxy(cfg.proxyCli, path.join(dir, 'proxy'), { processes: cfg.processes, redisUrl: redis.url, env })
      try {
        const proxyLoad = await loadOn(cfg, proxy.info)
        const pids = [proxy.proc.child.pid!, redis.pid]
        const closed = await measureServer(cfg, pids, () => proxyLoad({ connections: cfg.connections }))
        const open = await measureServer(cfg, pids, () => proxyLoad({ connections: OPEN_LOOP_CONNECTIONS, rate: cfg.steadyRate }))
        const base = await measureServer(cfg, [naive.child.pid!, redis.pid], () => naiveLoad({ connections: cfg.connections }))
        const floorMs = transportP50Ms === undefined ? undefined : transportP50Ms + latencyMs
        figures.push({ latencyMs, proxy: closed, naive: base, open, floorMs })
        const l = open.load
        console.log(`  h. HSM ${latencyMs} ms away: proxy ${closed.load.okRps.toFixed(0)} req/s (p99 ${pctMs(closed.load.ok, 99)} ms), ` +
          `naive ${base.load.okRps.toFixed(0)} req/s; ${cfg.steadyRate} req/s open loop: p50 ${pctMs(l.ok, 50)} ms, ` +
          `p99 ${pctMs(l.ok, 99)}, p99.9 ${pctMs(l.ok, 99.9)} ms, ${non2xxText(l)}; floor ` +
          `${floorMs === undefined ? 'n/a (no scenario a)' : `${floorMs.toFixed(3)} ms`}; others ${closed.foreignCores.toFixed(2)} cores`)
      } finally {
        await proxy.proc.stop()
      }
    }
    return figures
  } finally {
    await naive.stop()
    shaped.control.close()
  }
}

type LoadOn = (o: { connections: number, rate?: number }) => Promise<LoadResult>

async function loadOn (cfg: BenchConfig, info: Awaited<ReturnType<typeof startProxy>>['info']): Promise<LoadOn> {
  const templates = await prepareTemplates(info.port, info.creds, info.uriPrefix, info.keys.encryptDecrypt)
  return async o => await runLoad({
    port: info.port, creds: info.creds, templates, mix: cfg.mix, threads: cfg.threads, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs, ...o,
  })
}
