import path from 'node:path'
import type { BenchConfig } from '../config'
import { readConnection } from '../lib/connection-info'
import { freePort } from '../../src/dev/free-port'
import { start, waitForFile, type Tracked } from '../lib/procs'
import { non2xxText, pctMs, runLoad } from '../loadgen/run-load'
import { measureServer, ServerFigures } from './measure'
import { prepareTemplates } from './prepare'

/**
 * Starts the naive server (bench/baselines/naive-server.ts) on the dev environment `dir` (made if missing), with
 * the replay cache on `redisUrl` or in process, and waits until it serves; its output goes to `logFile`.
 */
export async function startNaiveServer (dir: string, logFile: string, o: { redisUrl?: string, env?: NodeJS.ProcessEnv } = {}):
Promise<{ server: Tracked, info: ReturnType<typeof readConnection> }> {
  const port = await freePort()
  const args = [path.join(__dirname, '../baselines/naive-server.js'), dir, String(port), ...(o.redisUrl !== undefined ? [o.redisUrl] : [])]
  const server = start(process.execPath, args, logFile, o.env === undefined ? {} : { env: o.env })
  try {
    const file = path.join(dir, 'naive-connection.json')
    await waitForFile(server, file, 120_000)
    return { server, info: readConnection(file) }
  } catch (err) {
    await server.stop()
    throw err
  }
}

/**
 * Scenario f: the naive single-process server (bench/baselines/naive-server.ts) on the proxy's dev environment,
 * under the same closed loop as scenario c, with the same replay cache (its redis-server counted as server CPU).
 */
export async function naiveBaseline (cfg: BenchConfig, dir: string, redis: { url: string, pid: number } | undefined): Promise<ServerFigures> {
  const { server, info } = await startNaiveServer(dir, `${dir}-naive.log`, { redisUrl: redis?.url })
  try {
    const templates = await prepareTemplates(info.port, info.creds, info.uriPrefix, info.keys.encryptDecrypt)
    const f = await measureServer(cfg, [server.child.pid!, ...(redis !== undefined ? [redis.pid] : [])], () => runLoad({
      port: info.port, creds: info.creds, templates, mix: cfg.mix, threads: cfg.threads, connections: cfg.connections,
      warmupMs: cfg.warmupMs, measureMs: cfg.measureMs,
    }))
    f.label = 'naive'
    console.log(`  f. naive baseline, closed loop: ${f.load.okRps.toFixed(0)} req/s (p50 ${pctMs(f.load.ok, 50)} ms, ` +
      `p99 ${pctMs(f.load.ok, 99)} ms), server ${f.serverCores.toFixed(2)} cores, client ${f.load.clientCores.toFixed(2)}, ` +
      `others ${f.foreignCores.toFixed(2)}, ${non2xxText(f.load)}`)
    return f
  } finally {
    await server.stop()
  }
}
