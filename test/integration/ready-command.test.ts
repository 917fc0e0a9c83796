/**
 * `xksgate ready` against a real proxy: ready on the health port and on the TLS port, not ready once it stops,
 * not waiting on a proxy that has exited (--pid), and the exit statuses systemd's ExecStartPost and a container
 * HEALTHCHECK act on.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { CliIo } from '../../src/cli/command'
import { readyCommand } from '../../src/cli/ready'
import { freePort } from '../../src/dev/free-port'
import { startDevServer } from '../helpers/dev-server'
import { repoRoot } from '../helpers/paths'

async function ready (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = { stdout: s => { stdout += s }, stderr: s => { stderr += s }, env: { ...process.env, ...env } }
  const status = await readyCommand.run(args, io)
  return { status, stdout, stderr }
}

t.test('ready on the health port, then on the TLS port, then not ready once stopped', async t => {
  const healthPort = await freePort()
  const server = await startDevServer({ env: { XKSGATE__healthPort__port: String(healthPort), XKSGATE__healthPort__host: '127.0.0.1' } })
  t.teardown(server.stop)
  const config = path.join(server.dir, 'config.json')
  // The dev config says port 0 (a free one); the port it got is in connection.json.
  const tlsPort = new URL(server.connection.endpoint).port
  const health = { XKSGATE__healthPort__port: String(healthPort), XKSGATE__healthPort__host: '127.0.0.1', XKSGATE__server__port: tlsPort }

  t.same(await ready(['--config', config, '--pid', String(server.process.pid)], health), { status: 0, stdout: `xksgate ready: http://127.0.0.1:${healthPort}/readyz is ready\n`, stderr: '' })
  const json = await ready(['--config', config, '--json'], { XKSGATE__server__port: tlsPort })
  t.equal(json.status, 0)
  t.same(JSON.parse(json.stdout), { ready: true, url: `https://127.0.0.1:${tlsPort}/readyz`, status: 200, detail: '{"status":"ready"}' }, 'the TLS port when there is no health port')

  t.equal(await server.stop(), 0)
  const started = Date.now()
  const stopped = await ready(['--config', config, '--wait', '1'], health)
  t.equal(stopped.status, 1)
  t.match(stopped.stderr, new RegExp(`^xksgate ready: http://127\\.0\\.0\\.1:${healthPort}/readyz is not ready: connect ECONNREFUSED`))
  t.ok(Date.now() - started >= 900, '--wait asked again for a second')
})

t.test('--pid: a proxy that exits on a wrong PIN ends the wait at once, not after --wait', async t => {
  const server = await startDevServer()
  t.teardown(() => fs.rmSync(server.dir, { recursive: true, force: true }))
  t.equal(await server.stop(), 0)
  const healthPort = await freePort()
  const health = { XKSGATE__healthPort__port: String(healthPort), XKSGATE__healthPort__host: '127.0.0.1' }
  // As under systemd (deploy/systemd/xksgate.service): the proxy starts, ExecStartPost runs `ready --pid $MAINPID`.
  const proxy = spawn(process.execPath, [path.join(repoRoot, 'dist/src/dev/cli.js'), '--dir', server.dir, '--port', '0'], {
    env: { ...process.env, ...health, XKSGATE__hsm__pin: '"000000"' },
    stdio: 'ignore',
  })
  const exited = new Promise<number | null>(resolve => proxy.on('exit', resolve))
  t.teardown(() => { proxy.kill('SIGKILL') })
  const started = Date.now()
  const result = await ready(['--config', path.join(server.dir, 'config.json'), '--wait', '600', '--pid', String(proxy.pid)], health)
  t.equal(await exited, 2, 'the proxy refused the PIN (exit 2)')
  t.equal(result.status, 1, 'not ready')
  t.equal(result.stderr, `xksgate ready: http://127.0.0.1:${healthPort}/readyz is not ready: the proxy's process ${proxy.pid} has exited (see its log for why)\n`)
  // The bound only separates "when the process exits" from "when --wait ends" (600 s), with room for a loaded host.
  t.ok(Date.now() - started < 120_000, `returned ${Date.now() - started} ms after the start, long before --wait's 600 s`)
})

t.test('usage and configuration errors exit 2', async t => {
  t.match(await ready(['--wait', 'soon', '--config', 'x.json']), { status: 2, stderr: /^xksgate ready: --wait must be 0-3600 seconds, got soon/ })
  // An empty $MAINPID (systemd knows no main process) is refused, not read as "no process to watch".
  t.match(await ready(['--pid', '', '--config', 'x.json']), { status: 2, stderr: /^xksgate ready: --pid must be a process id, got ''/ })
  t.match(await ready(['--pid', '12ab', '--config', 'x.json']), { status: 2, stderr: /^xksgate ready: --pid must be a process id, got '12ab'/ })
  t.match(await ready([], { XKSGATE_CONFIG: '' }), { status: 2, stderr: /^xksgate ready: no configuration: give --config FILE/ })
  t.match(await ready(['--config', '/nonexistent/config.json']), { status: 2, stderr: /^xksgate ready: invalid configuration:\n.*\/nonexistent\/config\.json: ENOENT/ })
  t.match(await ready(['--help']), { status: 0, stdout: /^usage: xksgate ready / })
})
