import path from 'node:path'
import { freePort } from '../../src/dev/free-port'
import { start, Tracked, waitForOutput } from './procs'

/** A private, non-persistent Redis for the proxy's replay cache; killed with the run. */
export async function startRedis (dir: string): Promise<{ url: string, server: Tracked }> {
  const port = await freePort()
  const server = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', dir, '--logfile', ''], path.join(dir, 'redis.log'))
  await waitForOutput(server, 'Ready to accept connections', 10_000)
  return { url: `redis://127.0.0.1:${port}`, server }
}
