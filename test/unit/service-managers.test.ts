/**
 * The systemd unit and the PM2 ecosystem file against what the proxy documents: neither restarts the exit status
 * of a configuration error (a wrong PIN among them), PM2 is given only options it knows, and the unit reports
 * readiness and tolerates optional paths that a host lacks.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { CONFIG_ERROR_EXIT } from '../../src/config/load'
import { repoRoot } from '../helpers/paths'

const unitFile = path.join(repoRoot, 'deploy', 'systemd', 'xksgate.service')
const unit = fs.readFileSync(unitFile, 'utf8')
const directives = (name: string): string[] => [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map(m => m[1])

t.test('systemd: no restart on a configuration error, readiness by xksgate ready, optional paths with "-"', async t => {
  t.same(directives('RestartPreventExitStatus'), [String(CONFIG_ERROR_EXIT)])
  t.same(directives('Restart'), ['on-failure'])
  t.same(directives('Type'), ['exec'])
  t.match(directives('ExecStartPost'), [/\/dist\/src\/main\.js ready --wait \d+ --pid \$MAINPID$/])
  const wait = Number(/--wait (\d+)/.exec(directives('ExecStartPost')[0])?.[1])
  t.ok(Number(directives('TimeoutStartSec')[0]) > wait, 'the start timeout outlasts the readiness wait')
  const writable = directives('ReadWritePaths').flatMap(v => v.split(/\s+/))
  t.ok(writable.length > 0 && writable.every(p => p.startsWith('-')), 'every ReadWritePaths entry may be missing')
  t.ok(directives('EnvironmentFile').every(p => p.startsWith('-')), 'the environment file may be missing')
})

t.test('systemd-analyze verify accepts the unit', { skip: fs.existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze is not installed' }, async t => {
  const result = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8', timeout: 30_000 })
  t.equal(result.status, 0, result.stderr)
  t.equal(result.stderr, '')
})

t.test('PM2: only options PM2 knows, exit 2 not restarted, the graceful stop outlasted', async t => {
  const app = (require(path.join(repoRoot, 'ecosystem.config.cjs')) as { apps: Array<Record<string, unknown>> }).apps[0]
  const schema = require(path.join(repoRoot, 'node_modules', 'pm2', 'lib', 'API', 'schema.json')) as Record<string, unknown>
  t.same(Object.keys(app).filter(key => !(key in schema)), [], 'options PM2 does not know (kill_signal was one: PM2 sends SIGINT)')
  t.same(app.stop_exit_codes, [CONFIG_ERROR_EXIT])
  t.ok(Number(app.kill_timeout) > 10_000 + 1000, 'kill_timeout above the default shutdown.drainMs + lingerMs')
})
