/**
 * Issue #17, item 1, as an operator meets it: a secret file holding only a newline. It used to pass `--check`,
 * start, and be applied by a reload, after which a request signed with the empty secret got 200. Now every entry
 * point that reads the file refuses it with exit 2 and the field named, and a reload leaves the running
 * configuration serving.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { RELOAD_TEST_BUDGET, TWO_CORE_SIZING, fixedEncrypt, type RuntimeConnection } from '../helpers/cluster'
import { startDevServer } from '../helpers/dev-server'
import { logLines, runMain } from '../helpers/main-process'
import { until } from '../helpers/until'
import { XksClient } from '../helpers/xks-client'

const REFUSED = 'reload refused: invalid configuration; the serving processes keep the configuration they have'

t.test('an empty secret file: every command refuses it naming the field, and a reload keeps the old configuration', async t => {
  const server = await startDevServer({
    args: ['--processes', '2'],
    env: { ...TWO_CORE_SIZING, ...RELOAD_TEST_BUDGET, XKSGATE__replay__allowProcessLocal: 'true' },
    readyTimeoutMs: 90_000,
  })
  t.teardown(server.stop)
  const dev = server.connection as RuntimeConnection & { pid: number, configFile: string }
  const original = JSON.parse(fs.readFileSync(dev.configFile, 'utf8')) as Record<string, any>
  const emptyFile = path.join(server.dir, 'secrets', 'empty')
  fs.writeFileSync(emptyFile, '\n', { mode: 0o600 })
  const withEmpty = structuredClone(original)
  const emptyCredential = { accessKeyId: 'BKIAEMPTYSECRETBBBBB', secretAccessKey: '' }
  withEmpty.keyStores[0].credentials.push({ accessKeyId: emptyCredential.accessKeyId, secretAccessKey: { file: emptyFile } })
  fs.writeFileSync(dev.configFile, JSON.stringify(withEmpty))
  const FIELD = `/keyStores/0/credentials/1/secretAccessKey: ${emptyFile} is empty`

  const commands = [['--check', '--config'], ['config', 'check', '--config'], ['doctor', '--config'], ['--config']]
  const runs = await Promise.all(commands.map(async args => await runMain([...args, dev.configFile], { timeoutMs: 60_000 })))
  runs.forEach((run, i) => {
    t.equal(run.status, 2, `xksgate ${commands[i].join(' ')} FILE: exit 2`, { stderr: run.stderr })
    t.match(run.stderr, FIELD, 'names the field and the file')
  })

  const cli = await runMain(['reload', '--connection', path.join(server.dir, 'connection.json')], { timeoutMs: 60_000 })
  t.equal(cli.status, 2, 'xksgate reload refuses the file itself')
  t.match(cli.stderr, `not sent: invalid configuration:\n  ${FIELD}`)

  const lines = (msg: string): Array<Record<string, any>> => logLines(server.output().split('\n').filter(l => l.startsWith('{')).join('\n')).filter(l => l.msg === msg)
  const ready = lines('serving process ready').length
  process.kill(dev.pid, 'SIGHUP')
  await until('the reload refused', () => lines(REFUSED).length === 1, 60_000)
  t.same(lines(REFUSED)[0].problems, [FIELD], 'SIGHUP: refused, naming the field')
  t.equal(lines('serving process ready').length, ready, 'no serving process was replaced')

  const client = new XksClient(dev, 1)
  t.teardown(() => client.close())
  for (let i = 0; i < 4; i++) {
    t.equal((await client.send(fixedEncrypt(dev))).status, 200, 'the configured credential still serves')
    t.equal((await client.send({ ...fixedEncrypt(dev), ...emptyCredential })).status, 401, 'a request signed with the empty secret is refused')
  }
})
