import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createTopology, fleetUnavailable, removeTopology } from './netns'

/**
 * `npm run reliability -- --fleet`: needs root, iproute2 (ip netns), haproxy and redis-server/redis-cli. Makes the
 * namespaces, runs fleet/inside.ts in the lan namespace, and removes the namespaces (and whatever still runs in
 * them) when it ends in any way. Where it cannot run, it says why and exits 0 having done nothing.
 */
export async function runFleet (o: { rate: number, seconds: number, connections: number }): Promise<number> {
  const why = fleetUnavailable(['haproxy', 'redis-server', 'redis-cli'])
  if (why !== undefined) {
    console.log(`fleet scenario skipped: it ${why}`)
    return 0
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-fleet-'))
  const topology = createTopology(3)
  let removed = false
  const cleanup = (): void => {
    if (removed) return
    removed = true
    removeTopology(topology)
    fs.rmSync(work, { recursive: true, force: true })
  }
  process.once('exit', cleanup)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { cleanup(); process.exit(130) })
  console.log(`fleet: namespaces ${[topology.lan, ...topology.hosts].join(', ')}; ${o.rate} req/s, ${o.seconds} s per fault`)
  try {
    const child = spawn('ip', ['netns', 'exec', topology.lan, process.execPath, path.join(__dirname, 'inside.js'),
      '--prefix', topology.prefix, '--work', work, '--rate', String(o.rate), '--seconds', String(o.seconds), '--connections', String(o.connections)],
    { stdio: 'inherit' })
    return await new Promise<number>(resolve => child.once('exit', code => resolve(code ?? 1)))
  } finally {
    cleanup()
  }
}
