/**
 * PM2 with a private PM2_HOME per test file, so tests never touch an operator's daemon; `kill` ends that daemon
 * and every process it started.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { repoRoot } from './paths'

const run = promisify(execFile)
const PM2 = path.join(repoRoot, 'node_modules', '.bin', 'pm2')

export interface Pm2 {
  home: string
  cmd: (...args: string[]) => Promise<string>
  /** pid of each online instance, by instance number. */
  pids: (name: string) => Promise<number[]>
  kill: () => Promise<void>
}

export function privatePm2 (env: NodeJS.ProcessEnv): Pm2 {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-pm2-'))
  const cmd = async (...args: string[]): Promise<string> =>
    (await run(PM2, args, { cwd: repoRoot, env: { ...process.env, ...env, PM2_HOME: home }, timeout: 90_000 })).stdout
  return {
    home,
    cmd,
    pids: async name => {
      const list = JSON.parse(await cmd('jlist')) as Array<{ name: string, pid: number, pm2_env: { status: string, NODE_APP_INSTANCE: number } }>
      return list.filter(p => p.name === name && p.pm2_env.status === 'online')
        .sort((a, b) => a.pm2_env.NODE_APP_INSTANCE - b.pm2_env.NODE_APP_INSTANCE).map(p => p.pid)
    },
    kill: async () => {
      await cmd('kill').catch(() => {})
      fs.rmSync(home, { recursive: true, force: true })
    },
  }
}
