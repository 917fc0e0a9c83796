/**
 * The production entry point as an operator runs it: `node dist/src/main.js ARGS`, with a configuration for a
 * test token (one serving process, loopback, no metrics port), and checks on how a failed start reports itself.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { Test } from 'tap'
import { ensureSelfSignedCert } from '../../src/dev/tls-cert'
import { repoRoot } from './paths'
import type { TestToken } from './softhsm'

export const MAIN = path.join(repoRoot, process.env.XKSGATE_DIST ?? 'dist', 'src/main.js')

export interface MainResult {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * Runs main.js (or `main`, another build of it) to its exit; `until` (given the output so far) may end it early
 * with SIGTERM, e.g. once ready.
 */
export async function runMain (args: string[], options: { env?: NodeJS.ProcessEnv, until?: (stdout: string) => boolean, timeoutMs?: number, main?: string } = {}): Promise<MainResult> {
  const child = spawn(process.execPath, [options.main ?? MAIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let signalled = false
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    if (!signalled && options.until?.(stdout) === true) {
      signalled = true
      child.kill('SIGTERM')
    }
  })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  // A guard against a hang, not a bound under test: generous for a start on a loaded 2-core host.
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
  const status = await new Promise<number | null>(resolve => child.once('close', code => resolve(code)))
  clearTimeout(timer)
  return { status, stdout, stderr }
}

/** The JSON lines a run wrote to stdout (every line must be one). */
export function logLines (stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').filter(line => line !== '').map(line => JSON.parse(line) as Record<string, unknown>)
}

/**
 * A failed start as the operator should see it: the exit status, a stderr message matching every pattern and no
 * stack trace there, and exactly one fatal JSON line on stdout (returned).
 */
export function assertStartupFailure (t: Test, result: MainResult, status: number, patterns: RegExp[]): Record<string, unknown> | undefined {
  t.equal(result.status, status, `exit status ${status}`, { stderr: result.stderr })
  for (const pattern of patterns) t.match(result.stderr, pattern, `stderr says ${pattern}`)
  t.notMatch(result.stderr, /^\s+at \S/m, 'no stack trace on stderr')
  t.notMatch(result.stderr, /App construction failed/)
  const fatal = logLines(result.stdout).filter(line => line.level === 60)
  t.equal(fatal.length, 1, 'one fatal JSON line', { stdout: result.stdout })
  t.match(fatal[0]?.msg, /^startup failed/)
  return fatal[0]
}

/** A valid configuration for `token` in `dir` (certificate made there); `write` saves a variant and returns its path. */
export function tokenConfig (token: TestToken, dir: string): { config: Record<string, any>, env: NodeJS.ProcessEnv, write: (config: unknown, name?: string) => string } {
  const { certFile, keyFile } = ensureSelfSignedCert(path.join(dir, 'tls'))
  const config = {
    server: { host: '127.0.0.1', port: 0, tls: { certFile, keyFile } },
    hsm: { modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: { env: 'TEST_HSM_PIN' }, threads: 1 },
    health: { keyLabel: 'health' },
    cluster: { processes: 1 },
    metrics: { port: null },
    keyStores: [{
      name: 'test',
      uriPrefix: '/test/kms/xks/v1',
      credentials: [{ accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE' }],
      keys: { foo: { label: 'foo' } },
    }],
  }
  return {
    config,
    env: { TEST_HSM_PIN: token.pin },
    write: (variant, name = 'config.json') => {
      const file = path.join(dir, name)
      fs.writeFileSync(file, JSON.stringify(variant))
      return file
    },
  }
}
