/**
 * A PKCS#11 module that never answers (test/helpers/hanging-module.ts) must not leave a proxy that neither
 * serves nor exits: the start fails at hsm[].startTimeoutMs and the process ends (by SIGKILL, since Node cannot
 * join a thread stuck in native code); a SIGTERM during such a start ends it too (docs/hsm.md "An HSM that never
 * answers").
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { freePort } from '../../src/dev/free-port'
import { configFixture } from '../helpers/config-fixture'
import { buildHangingModule } from '../helpers/hanging-module'
import { MAIN, logLines } from '../helpers/main-process'

const fixture = configFixture()
t.teardown(fixture.cleanup)
const modulePath = buildHangingModule(fixture.dir)

interface Ended { code: number | null, signal: NodeJS.Signals | null, stdout: string, ms: number }

async function runProxy (startTimeoutMs: number, sigtermAfterMs?: number, processes = 1): Promise<Ended & { stderr: string }> {
  const config = {
    ...fixture.config,
    server: { ...fixture.config.server, host: '127.0.0.1', port: await freePort() },
    hsm: { ...fixture.config.hsm, modulePath, startTimeoutMs },
    cluster: { processes },
    // Several serving processes need a shared replay cache; this test never gets as far as a request.
    ...(processes > 1 && { replay: { allowProcessLocal: true } }),
    metrics: { port: 0 },
  }
  const file = path.join(fixture.dir, `config-${startTimeoutMs}-${processes}.json`)
  fs.writeFileSync(file, JSON.stringify(config))
  const started = Date.now()
  const child = spawn(process.execPath, [MAIN, '--config', file], { env: { ...process.env, ...fixture.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  if (sigtermAfterMs !== undefined) setTimeout(() => child.kill('SIGTERM'), sigtermAfterMs)
  // The test's own guard: far past every bound under test, and distinguishable (SIGABRT, not SIGKILL).
  const guard = setTimeout(() => child.kill('SIGABRT'), 90_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.once('close', (c, s) => resolve([c, s])))
  clearTimeout(guard)
  return { code, signal, stdout, stderr, ms: Date.now() - started }
}

// Node's start, the configuration and the threads come before the 1 s start timeout: seconds on a loaded 2-core
// host. Still well below the 60 s start timeout that a SIGTERM must cut short.
const ENDED_WITHIN_MS = 40_000
// By then the HSM threads are inside the module's call: at load average 20 a 1 s start timeout came before the
// threads had started, so nothing was stuck and the process exited normally (signal null, no stuck-call line).
const STUCK_BY_MS = 5000

const fatal = (stdout: string): Array<Record<string, unknown>> => logLines(stdout).filter(l => l.level === 60)

t.test('the start fails at startTimeoutMs and the process ends, though a thread is stuck in the module', async t => {
  const ended = await runProxy(STUCK_BY_MS)
  t.equal(ended.signal, 'SIGKILL', 'ended itself with SIGKILL (process.exit would never return)')
  t.ok(ended.ms < ENDED_WITHIN_MS, `ended after ${ended.ms} ms`)
  const lines = fatal(ended.stdout)
  t.match(lines[0], { msg: /^startup failed/, reason: new RegExp(`HSM workers did not log in within ${STUCK_BY_MS} ms`) }, 'says why the start failed', { stdout: ended.stdout })
  t.match(lines[1], { msg: /^a PKCS#11 call has not returned, and Node cannot end a thread inside one: ending the process with SIGKILL instead of exit 1$/, exitCode: 1 })
})

t.test('SIGTERM during a start that hangs ends the process', async t => {
  const ended = await runProxy(60_000, STUCK_BY_MS)
  t.equal(ended.signal, 'SIGKILL', 'ended', { stdout: ended.stdout })
  t.ok(ended.ms < ENDED_WITHIN_MS, `ended after ${ended.ms} ms, long before the 60 s start timeout`)
  t.match(fatal(ended.stdout), [{ msg: /ending the process with SIGKILL instead of exit 0$/, stuck: [/worker threads starting/] }])
})

t.test('cluster mode: the serving process ends itself, and the primary exits 1 with its reason', async t => {
  const ended = await runProxy(STUCK_BY_MS, undefined, 2)
  t.equal(ended.code, 1, 'the primary exits 1 (its own threads never touch PKCS#11)', { stderr: ended.stderr })
  t.ok(ended.ms < ENDED_WITHIN_MS, `ended after ${ended.ms} ms`)
  t.match(ended.stderr, new RegExp(`^xksgate: serving process \\d exited during startup \\(code null, signal SIGKILL\\): /hsm: HSM workers did not log in within ${STUCK_BY_MS} ms`, 'm'))
})
