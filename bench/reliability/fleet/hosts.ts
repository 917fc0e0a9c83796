import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { repoRoot } from '../../../test/helpers/paths'
import { start, type Tracked } from '../../lib/procs'
import { HEALTH_PORT, HOST_PORT } from './haproxy'
import { hostAddress } from './netns'

/**
 * One xksgate per host namespace, as an operator runs it (`node dist/src/main.js --config FILE`), all from the
 * same provisioned dev directory: the same SoftHSM token (so any host decrypts what another encrypted), the same
 * certificate and credentials. Each has its own address, fleet.instanceId and health port, and the shared Redis.
 */

export interface FleetHost { index: number, namespace: string, address: string, proc: Tracked }

export async function startHosts (devDir: string, workDir: string, namespaces: string[], redis: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<FleetHost[]> {
  const dev = JSON.parse(fs.readFileSync(path.join(devDir, 'config.json'), 'utf8')) as Record<string, any>
  const hosts: FleetHost[] = []
  // One after the other, each once the previous one is ready: SoftHSM processes opening one token at the same
  // instant now and then find it missing from the slot list (the cluster primary starts its processes so too).
  for (const [i, namespace] of namespaces.entries()) {
    const address = hostAddress(i + 1)
    const file = path.join(workDir, `host-${i + 1}.json`)
    fs.writeFileSync(file, JSON.stringify({
      ...dev,
      server: { ...dev.server, host: address, port: HOST_PORT },
      hsm: { ...dev.hsm, threads: 1 },
      healthPort: { host: address, port: HEALTH_PORT },
      metrics: { port: null },
      fleet: { instanceId: `host-${i + 1}`, heartbeatMs: 1000 },
      cluster: { processes: 1 },
      log: { level: 'warn' },
      redis,
    }))
    const proc = start('ip', ['netns', 'exec', namespace, process.execPath, path.join(repoRoot, 'dist', 'src', 'main.js'), '--config', file],
      path.join(workDir, `host-${i + 1}.log`), { env: { ...process.env, ...env, SOFTHSM2_CONF: path.join(devDir, 'softhsm', 'softhsm2.conf') } })
    const host = { index: i + 1, namespace, address, proc }
    await waitReady(host)
    hosts.push(host)
  }
  return hosts
}

async function waitReady (h: FleetHost): Promise<void> {
  for (const deadline = Date.now() + 60_000; ;) {
    if (h.proc.child.exitCode !== null) throw new Error(`host ${h.index} exited:\n${h.proc.output()}`)
    if (await readyz(h.address)) return
    if (Date.now() > deadline) throw new Error(`host ${h.index} not ready in 60 s:\n${h.proc.output()}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

function readyz (address: string): Promise<boolean> {
  return new Promise(resolve => {
    const req = http.get({ host: address, port: HEALTH_PORT, path: '/readyz', timeout: 1000 }, res => { res.resume(); resolve(res.statusCode === 200) })
    req.on('error', () => resolve(false)).on('timeout', () => { req.destroy(); resolve(false) })
  })
}
