import path from 'node:path'
import type { BenchConfig } from '../config'
import { selfSignedCert } from '../lib/cert'
import { freePort, start, waitForOutput } from '../lib/procs'
import { non2xxText, runLoad } from '../loadgen/run-load'
import { buildTemplates, fakeCiphertexts } from '../loadgen/templates'
import { measureServer, ServerFigures } from './measure'

/**
 * Scenario a, the transport ceiling: the same uWS TLS frontend and the same client and mix as the proxy runs,
 * with a server that only reads the body and answers a fixed one. Run with one and with two server processes
 * (SO_REUSEPORT); the ceiling is the better of the two.
 */

const CREDS = { accessKeyId: 'BENCHTRANSPORTCEILING', secretAccessKey: 'x'.repeat(43), region: 'us-east-1' }

export async function transportCeiling (cfg: BenchConfig, dir: string): Promise<ServerFigures> {
  const { cert, key } = selfSignedCert(dir)
  const templates = buildTemplates('/bench/kms/xks/v1', 'foo', fakeCiphertexts(4))
  let best: ServerFigures | undefined
  for (const processes of [1, 2]) {
    const port = await freePort()
    const servers = Array.from({ length: processes }, (_, i) => start(process.execPath,
      [path.join(__dirname, '../baselines/transport-server.js'), String(port), cert, key], path.join(dir, `transport-${i}.log`)))
    try {
      await Promise.all(servers.map(s => waitForOutput(s, 'ready', 10_000)))
      const pids = servers.map(s => s.child.pid!)
      const figures = await measureServer(cfg, pids, () => runLoad({
        port, creds: CREDS, templates, mix: cfg.mix, threads: cfg.threads, connections: cfg.connections,
        warmupMs: cfg.warmupMs, measureMs: cfg.measureMs,
      }))
      figures.label = `${processes} process${processes > 1 ? 'es' : ''}`
      report(figures)
      if (best === undefined || figures.load.okRps > best.load.okRps) best = figures
    } finally {
      await Promise.all(servers.map(s => s.stop()))
    }
  }
  return best!
}

function report (f: ServerFigures): void {
  console.log(`  a. transport ceiling, ${f.label}: ${f.load.okRps.toFixed(0)} req/s, ` +
    `server ${f.serverCores.toFixed(2)} cores, client ${f.load.clientCores.toFixed(2)} cores, ` +
    `others ${f.foreignCores.toFixed(2)} cores, ${non2xxText(f.load)}`)
}
