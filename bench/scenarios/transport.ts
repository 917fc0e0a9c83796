import path from 'node:path'
import type { BenchConfig } from '../config'
import { selfSignedCert } from '../lib/cert'
import { freePort } from '../../src/dev/free-port'
import { start, waitForOutput } from '../lib/procs'
import { non2xxText, pctMs, runLoad } from '../loadgen/run-load'
import { buildTemplates, fakeCiphertexts } from '../loadgen/templates'
import { measureServer, ServerFigures } from './measure'

/**
 * Scenario a, the transport ceiling: the same uWS TLS frontend and the same client and mix as the proxy runs,
 * with a server that only reads the body and answers a fixed one. Run with one and with two server processes
 * (SO_REUSEPORT); the ceiling is the better of the two. The one-process server also runs scenario d's open loop,
 * which gives d's latencies their floor: what this client, TLS and this machine add on their own.
 */

export interface TransportFigures {
  ceiling: ServerFigures
  /** Open loop at cfg.steadyRate, one server process. */
  steady: ServerFigures
}

/** What the servers without auth are sent: signed requests shaped like the proxy's, which they do not check. */
export const TRANSPORT_CREDS = { accessKeyId: 'BENCHTRANSPORTCEILING', secretAccessKey: 'x'.repeat(43), region: 'us-east-1' }
export const transportTemplates = (): ReturnType<typeof buildTemplates> => buildTemplates('/bench/kms/xks/v1', 'foo', fakeCiphertexts(4))

export async function transportCeiling (cfg: BenchConfig, dir: string): Promise<TransportFigures> {
  const { cert, key } = selfSignedCert(dir)
  const templates = transportTemplates()
  let best: ServerFigures | undefined
  let steady: ServerFigures | undefined
  for (const processes of [1, 2]) {
    const port = await freePort()
    const servers = Array.from({ length: processes }, (_, i) => start(process.execPath,
      [path.join(__dirname, '../baselines/transport-server.js'), String(port), cert, key], path.join(dir, `transport-${i}.log`)))
    try {
      await Promise.all(servers.map(s => waitForOutput(s, 'ready', 10_000)))
      const pids = servers.map(s => s.child.pid!)
      const base = { port, creds: TRANSPORT_CREDS, templates, mix: cfg.mix, threads: cfg.threads, connections: cfg.connections }
      const figures = await measureServer(cfg, pids, () => runLoad({ ...base, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs }))
      figures.label = `${processes} process${processes > 1 ? 'es' : ''}`
      report(figures)
      if (best === undefined || figures.load.okRps > best.load.okRps) best = figures
      if (processes === 1) {
        steady = await measureServer(cfg, pids, () => runLoad({ ...base, rate: cfg.steadyRate, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs }))
        const l = steady.load
        console.log(`  a. transport at ${cfg.steadyRate} req/s open loop: p50 ${pctMs(l.ok, 50)} ms, p99 ${pctMs(l.ok, 99)}, ` +
          `p99.9 ${pctMs(l.ok, 99.9)}, max ${pctMs(l.ok, 100)} ms (client send lag p99 ${pctMs(l.lag, 99)} ms), ${non2xxText(l)}`)
      }
    } finally {
      await Promise.all(servers.map(s => s.stop()))
    }
  }
  return { ceiling: best!, steady: steady! }
}

function report (f: ServerFigures): void {
  console.log(`  a. transport ceiling, ${f.label}: ${f.load.okRps.toFixed(0)} req/s, ` +
    `server ${f.serverCores.toFixed(2)} cores, client ${f.load.clientCores.toFixed(2)} cores, ` +
    `others ${f.foreignCores.toFixed(2)} cores, ${non2xxText(f.load)}`)
}
