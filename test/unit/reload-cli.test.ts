import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { reloadCommand } from '../../src/cli/reload'
import { freePort } from '../../src/dev/free-port'
import { configFixture } from '../helpers/config-fixture'

/** Runs `xksgate reload ARGS` in-process; none of these cases reaches a signal (each stops before kill). */
async function reload (args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const status = await reloadCommand.run(args, { stdout: s => { stdout += s }, stderr: s => { stderr += s }, env })
  return { status, stdout, stderr }
}

t.test('xksgate reload checks before it signals, and says why it cannot', async t => {
  const f = configFixture()
  t.teardown(f.cleanup)
  f.config.server.port = await freePort()
  const file = path.join(f.dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(f.config))

  const help = await reload(['--help'], f.env)
  t.equal(help.status, 0)
  t.match(help.stdout, /^usage: xksgate reload /)
  t.match(await reload([], {}), { status: 2, stderr: /no configuration: give --config FILE, --connection FILE or set XKSGATE_CONFIG/ })
  t.match(await reload(['--config', file, '--timeout-ms', 'soon'], f.env), { status: 2, stderr: /--timeout-ms must be a whole number, got soon/ })
  t.match(await reload(['--connection', path.join(f.dir, 'nope.json')], f.env), { status: 2, stderr: /cannot read .*nope\.json/ })
  t.match(await reload(['--config', file, 'extra'], f.env), { status: 2, stderr: /Unexpected argument 'extra'/ })

  const invalid = path.join(f.dir, 'invalid.json')
  fs.writeFileSync(invalid, JSON.stringify({ ...f.config, server: { ...f.config.server, port: 'x' } }))
  t.match(await reload(['--config', invalid], f.env), { status: 2, stderr: /^xksgate reload: not sent: invalid configuration:\n {2}\/server\/port: /m })

  t.match(await reload(['--config', file], f.env), { status: 1, stderr: new RegExp(`nothing announces 0\\.0\\.0\\.0:${f.config.server.port as number}; give --pid or --connection`) })
  t.match(await reload(['--config', file, '--pid', String(process.pid)], f.env), { status: 1, stderr: new RegExp(`pid ${process.pid} is not an xksgate proxy`) })
  const connection = path.join(f.dir, 'connection.json')
  fs.writeFileSync(connection, JSON.stringify({ pid: process.pid, configFile: file }))
  t.match(await reload(['--connection', connection], f.env), { status: 1, stderr: /is not an xksgate proxy/ }, 'pid and configFile from connection.json')
  t.match(await reload(['--config', file, '--pid', 'abc'], f.env), { status: 2, stderr: /--pid must be a process id, got abc/ })
})
