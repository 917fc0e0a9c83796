import path from 'node:path'
import { freePort } from '../../../src/dev/free-port'
import { DEV_KEYS, DEV_URI_PREFIX } from '../../../src/dev/provision'
import { privatePm2 } from '../../../test/helpers/pm2'
import { startRedis } from '../../../test/helpers/redis-server'
import { until } from '../../../test/helpers/until'
import { prepareTemplates } from '../../scenarios/prepare'
import { devCredentials, provisionOnce } from '../proxy'
import { commonViolations, type Scenario, underLoad } from '../scenario'

const NAME = 'xksgate-reliability'
/** A reload of two instances takes several seconds here (two starts, each waiting for its token); the load outlasts it. */
const MIN_AFTER_FAULT_MS = 20_000

/**
 * `pm2 reload` of two fork-mode instances (ecosystem.config.cjs) under load: PM2 replaces them one at a time,
 * each new one ready before the old one is told to stop, and the old one drains (shutdown.lingerMs answers a
 * keep-alive client's next request with Connection: close). Nothing may fail.
 */
export const pm2Reload: Scenario = {
  id: 'pm2-reload',
  fault: '`pm2 reload` of 2 fork-mode instances',
  run: async ctx => {
    await provisionOnce(ctx.devDir)
    const port = await freePort()
    const redis = await startRedis()
    const pm2 = privatePm2({
      XKSGATE__redis: JSON.stringify({ url: redis.url }),
      XKSGATE_CONFIG: path.join(ctx.devDir, 'config.json'),
      XKSGATE_PM2_NAME: NAME,
      XKSGATE__server__port: String(port),
      XKSGATE__metrics__port: String(await freePort()),
      XKSGATE__log__level: 'warn',
      XKSGATE__hsm__threads: '1',
      SOFTHSM2_CONF: path.join(ctx.devDir, 'softhsm', 'softhsm2.conf'),
    })
    try {
      await pm2.cmd('start', 'ecosystem.config.cjs')
      await until('two instances online', async () => (await pm2.pids(NAME)).length === 2, 60_000)
      const creds = devCredentials(ctx.devDir)
      let templates: Awaited<ReturnType<typeof prepareTemplates>> | undefined
      await until('the instances serve', async () => {
        templates = await prepareTemplates(port, creds, DEV_URI_PREFIX, DEV_KEYS.encryptDecrypt).catch(() => undefined)
        return templates !== undefined
      }, 60_000)
      const before = await pm2.pids(NAME)
      let reloadMs = 0
      const shape = { ...ctx, durationMs: Math.max(ctx.durationMs, ctx.faultAtMs + MIN_AFTER_FAULT_MS) }
      const run = await underLoad({ port, creds, templates: templates! }, shape, async load => {
        const started = load.elapsed()
        await pm2.cmd('reload', NAME)
        reloadMs = Math.round(load.elapsed() - started)
        return undefined
      })
      const after = await pm2.pids(NAME)
      const violations = commonViolations(run.counts, run.faultAtMs, 0)
      if (after.length !== 2 || after.some(pid => before.includes(pid))) violations.push(`instances not both replaced: ${before.join(',')} → ${after.join(',')}`)
      if (reloadMs > shape.durationMs - ctx.faultAtMs) violations.push(`the reload (${reloadMs} ms) outlasted the load`)
      return { ...run, notes: [`pm2 reload took ${reloadMs} ms`], violations }
    } finally {
      await pm2.cmd('delete', NAME).catch(() => '')
      await pm2.kill()
      await redis.stop()
    }
  },
}
