import path from 'node:path'
import { ConnectionInfo, readConnection } from '../lib/connection-info'
import { freePort } from '../../src/dev/free-port'
import { start, Tracked, waitForFile } from '../lib/procs'
import { proxyCli } from '../lib/repo'
import type { Credentials } from '../sign'

export interface ProxyProcess {
  proc: Tracked
  info: ConnectionInfo & { port: number, creds: Credentials }
  /** What the CLI did not accept, said in the output next to the figures it affects. */
  notes: string[]
  redis: boolean
}

/**
 * Starts the proxy through its scripted contract (dev CLI, connection.json once ready). --processes and --redis
 * are newer than the rest of the CLI: a flag it rejects as unknown is dropped, and the run goes on without it
 * and says so.
 */
export async function startProxy (cliPath: string | undefined, dir: string, opts: { processes?: number, redisUrl?: string, env?: NodeJS.ProcessEnv }):
Promise<ProxyProcess> {
  const cli = proxyCli(cliPath)
  const optional: Record<string, string> = {}
  if (opts.processes !== undefined) optional['--processes'] = String(opts.processes)
  if (opts.redisUrl !== undefined) optional['--redis'] = opts.redisUrl
  const notes: string[] = []
  for (;;) {
    const port = await freePort()
    const args = [cli, '--dir', dir, '--port', String(port), ...Object.entries(optional).flat()]
    const proc = start(process.execPath, args, `${dir}.log`, { env: opts.env })
    try {
      await waitForFile(proc, path.join(dir, 'connection.json'), 120_000)
      return { proc, info: readConnection(path.join(dir, 'connection.json')), notes, redis: '--redis' in optional }
    } catch (err) {
      await proc.stop()
      const unknown = /Unknown option '(--[a-z-]+)'/.exec(proc.output())?.[1]
      if (unknown === undefined || !(unknown in optional)) throw err
      notes.push(`the proxy CLI does not accept ${unknown} yet: ran without it`)
      delete optional[unknown]
    }
  }
}
