import fs from 'node:fs'
import path from 'node:path'
import { newAccessKeyId, newSecretAccessKey } from '../../../src/config/new-credential'
import { startRedis } from '../../../test/helpers/redis-server'
import { callOnce } from '../../lib/connection-info'
import { startFaultProxy } from '../proxy'
import { commonViolations, type Scenario, underLoad } from '../scenario'

/** A reload of two processes takes several seconds here (two starts, each opening its sessions); the load outlasts it. */
const MIN_AFTER_FAULT_MS = 15_000
const DONE = 'reload done: every serving process runs the new configuration'
const REFUSED = 'reload refused: invalid configuration; the serving processes keep the configuration they have'
const READY = 'serving process ready'

type Change = 'credential-added' | 'invalid'

/**
 * SIGHUP to the cluster primary of two serving processes (src/cluster/reload.ts) under load. With a second
 * credential added, the primary replaces the processes one at a time, each new one serving before an old one
 * drains: nothing may fail, and the new credential must be accepted afterwards. With an invalid file (a malformed
 * access key id) the reload is refused, no process is replaced, and nothing may fail either.
 */
function primaryReload (change: Change): Scenario {
  return {
    id: change === 'invalid' ? 'primary-reload-refused' : 'primary-reload',
    fault: change === 'invalid'
      ? 'SIGHUP to the cluster primary (2 processes) with an invalid config'
      : 'SIGHUP to the cluster primary (2 processes), a credential added',
    run: async ctx => {
      const redis = await startRedis()
      const proxy = await startFaultProxy(ctx.devDir, `primary-reload-${change}`, {
        processes: 2, redisUrl: redis.url, env: { XKSGATE__hsm__threads: '1' },
      })
      const configFile = path.join(ctx.devDir, 'config.json')
      const original = fs.readFileSync(configFile, 'utf8')
      const lines = (msg: string): Array<{ generation?: number }> => proxy.log().split('\n')
        .filter(l => l.includes(`"msg":"${msg}"`)).map(l => JSON.parse(l) as { generation?: number })
      const count = (msg: string): number => lines(msg).length
      try {
        const added = { accessKeyId: change === 'invalid' ? 'not-an-access-key' : newAccessKeyId(), secretAccessKey: newSecretAccessKey() }
        const secretFile = path.join(ctx.workDir, `reload-${change}-secret`)
        fs.writeFileSync(secretFile, added.secretAccessKey + '\n', { mode: 0o600 })
        const config = JSON.parse(original) as { keyStores: Array<{ credentials: unknown[] }> }
        config.keyStores[0].credentials.push({ accessKeyId: added.accessKeyId, secretAccessKey: { file: secretFile } })
        const expect = change === 'invalid' ? REFUSED : DONE
        let reloadMs = -1
        // A refusal takes milliseconds; only an applied reload needs the load to outlast it.
        const shape = change === 'invalid' ? ctx : { ...ctx, durationMs: Math.max(ctx.durationMs, ctx.faultAtMs + MIN_AFTER_FAULT_MS) }
        const run = await underLoad(proxy, shape, async load => {
          fs.writeFileSync(configFile, JSON.stringify(config, null, 2))
          const started = load.elapsed()
          process.kill(proxy.pid, 'SIGHUP')
          while (count(expect) === 0 && load.elapsed() < shape.durationMs) await new Promise(resolve => setTimeout(resolve, 20))
          if (count(expect) > 0) reloadMs = Math.round(load.elapsed() - started)
          return undefined
        })
        const violations = commonViolations(run.counts, run.faultAtMs, 0)
        if (reloadMs < 0) violations.push(`no "${expect}" before the load ended`)
        // Processes started on the new configuration (generation 2): the primary logs each one ready.
        const replaced = lines(READY).filter(l => l.generation !== undefined && l.generation > 1).length
        const signedWithAdded = await callOnce(proxy.port, { ...added, region: proxy.creds.region }, proxy.templates[0])
        if (change === 'invalid') {
          if (replaced !== 0) violations.push(`${replaced} processes replaced by a refused reload`)
          if (signedWithAdded.status !== 401) violations.push(`the refused credential got ${signedWithAdded.status}, not 401`)
        } else {
          if (replaced !== 2) violations.push(`${replaced} processes replaced, not 2`)
          if (signedWithAdded.status !== 200) violations.push(`the added credential got ${signedWithAdded.status}, not 200`)
        }
        const what = change === 'invalid' ? 'refused' : `applied, ${replaced} processes replaced`
        return { ...run, notes: [`reload ${what} in ${reloadMs} ms; a request signed with the ${change === 'invalid' ? 'refused' : 'added'} credential: ${signedWithAdded.status}`], violations }
      } finally {
        fs.writeFileSync(configFile, original)
        await proxy.proc.stop()
        await redis.stop()
      }
    },
  }
}

export const primaryReloadApplied = primaryReload('credential-added')
export const primaryReloadRefused = primaryReload('invalid')
