import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from './config'
import { cleanupOnExit, killAllNow } from './lib/procs'
import { startRedis } from './lib/redis'
import { pctMs } from './loadgen/run-load'
import { foreignLoadNotes, jsonLine, machine, netHsmTable, Results, table } from './report'
import { naiveBaseline } from './scenarios/naive'
import { netHsmScenario } from './scenarios/net-hsm'
import { proxyScenarios, scalingScenario } from './scenarios/proxy'
import { rawHsm } from './scenarios/raw-hsm'
import { transportCeiling } from './scenarios/transport'
import { runStages, stagesJson, stageTable } from './stages/run-stages'

/** `npm run bench -- [flags]`: runs the scenarios in order, then prints the comparison table (and JSON). */
async function main (): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-bench-'))
  cleanupOnExit(dir)
  const started = Date.now()
  const results: Results = {}
  const notes: string[] = []
  console.log(`xksgate bench${cfg.quick ? ' (quick)' : ''}: ${machine()}; client ${cfg.threads} thread(s), ` +
    `${cfg.connections} connections; load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`)
  // A scenario that fails is reported and the others still run: the table and JSON then show null for it.
  const attempt = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try { await fn() } catch (err) {
      notes.push(`${name} failed: ${err instanceof Error ? err.message : String(err)}`)
      process.exitCode = 1
    }
  }
  if (cfg.stages) {
    try {
      const report = await runStages(cfg, dir)
      console.log(`\n${new Date().toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
      console.log(stageTable(report))
      if (cfg.json) console.log(stagesJson(report))
    } finally {
      killAllNow()
      fs.rmSync(dir, { recursive: true, force: true })
    }
    return
  }
  try {
    if (cfg.scenarios.has('a')) await attempt('a', async () => { results.transport = await transportCeiling(cfg, dir) })
    if (cfg.scenarios.has('b')) await attempt('b', async () => { results.rawHsm = await rawHsm(cfg, dir) })
    const proxyDir = path.join(dir, 'proxy')
    const withProxy = ['c', 'd', 'e'].some(s => cfg.scenarios.has(s as 'c'))
    if (withProxy || ['f', 'g', 'h'].some(s => cfg.scenarios.has(s as 'f'))) {
      const redis = await startRedis(dir)
      const benchRedis = { url: redis.url, pid: redis.server.child.pid! }
      if (withProxy) {
        await attempt('c-e', async () => {
          results.proxy = await proxyScenarios(cfg, proxyDir, benchRedis)
          notes.push(...results.proxy.notes)
        })
      }
      // The naive baseline gets the same replay cache as the proxy had.
      const naiveRedis = results.proxy?.redis === false ? undefined : benchRedis
      if (cfg.scenarios.has('f')) await attempt('f', async () => { results.naive = await naiveBaseline(cfg, proxyDir, naiveRedis) })
      if (cfg.scenarios.has('g')) await attempt('g', async () => { results.scaling = await scalingScenario(cfg, proxyDir, benchRedis, 2) })
      const transportP50 = results.transport && pctMs(results.transport.steady.load.ok, 50)
      if (cfg.scenarios.has('h')) await attempt('h', async () => { results.netHsm = await netHsmScenario(cfg, path.join(dir, 'net-hsm'), benchRedis, transportP50) })
      await redis.server.stop()
    }
  } finally {
    killAllNow()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log(`\n${new Date().toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
  console.log(table(results, cfg))
  if (results.netHsm !== undefined) console.log(`\n${netHsmTable(results.netHsm, cfg)}`)
  for (const note of [...notes, ...foreignLoadNotes(results)]) console.log(`note: ${note}`)
  if (cfg.json) console.log(jsonLine(results))
}

main().catch(err => {
  console.error('bench failed:', err instanceof Error ? err.message : err)
  killAllNow()
  process.exitCode = 1
})
