import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { AuditChain } from '../../src/audit/chain'
import { auditCommand } from '../../src/cli/audit'
import { configFixture } from '../helpers/config-fixture'

const KEY = 'cli-key-'.repeat(5)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-audit-cli-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const keyFile = path.join(dir, 'key')
fs.writeFileSync(keyFile, KEY + '\n')
const file = path.join(dir, 'audit.jsonl')
const chain = new AuditChain(Buffer.from(KEY), undefined)
const lines: string[] = []
for (let i = 0; i < 4; i++) chain.tryAppend('request', { status: 200 }, l => { lines.push(l); return true })
fs.writeFileSync(file, lines.join(''))

async function run (args: string[], env: NodeJS.ProcessEnv = {}): Promise<[number, string]> {
  let out = ''
  const status = await auditCommand.run(args, { stdout: s => { out += s }, stderr: s => { out += s }, env })
  return [status, out]
}

t.test('usage errors exit 2 with one line, --help exits 0', async t => {
  t.same((await run([]))[0], 2)
  t.match((await run(['check']))[1], /^xksgate audit verify: unknown subcommand 'check'/)
  t.match((await run(['verify', file]))[1], 'give --config FILE or --key-file FILE')
  t.match((await run(['verify', '--key-file', keyFile]))[1], 'no audit file given')
  t.match((await run(['verify', '--key-file', keyFile, '--head', 'x', file]))[1], '--head must be CHAIN:SEQ:MAC')
  const [status, missing] = await run(['verify', '--key-file', keyFile, path.join(dir, 'nope.jsonl')])
  t.equal(status, 2)
  t.match(missing, /ENOENT/)
  const [helpStatus, help] = await run(['verify', '--help'])
  t.equal(helpStatus, 0)
  t.match(help, /^usage: xksgate audit verify/)
})

t.test('--json, and the key from the proxy configuration', async t => {
  const [status, json] = await run(['verify', '--key-file', keyFile, '--json', file])
  t.equal(status, 0)
  t.match(JSON.parse(json), { ok: true, chains: [{ chain: chain.chain, firstSeq: 0, lastSeq: 3, records: 4, dropped: 0 }] })
  const f = configFixture()
  t.teardown(f.cleanup)
  const config = path.join(f.dir, 'config.json')
  fs.writeFileSync(config, JSON.stringify({ ...f.config, audit: { file: 'audit.jsonl', key: { file: keyFile } } }))
  const [byConfig, out] = await run(['verify', '--config', config, file], f.env)
  t.equal(byConfig, 0, out)
  fs.writeFileSync(config, JSON.stringify(f.config))
  t.match((await run(['verify', '--config', config, file], f.env))[1], 'has no audit section')
  fs.writeFileSync(file, lines.slice(1).join(''))
  const [failed, problem] = await run(['verify', '--key-file', keyFile, file])
  t.equal(failed, 1)
  t.match(problem, /FAILED: .*audit\.jsonl:1: chain [0-9a-f]{16} begins at seq 1/)
})

t.test('--heads-from: the heads of a journald or PM2 log, other chains skipped, a stop with unwritten records left out', async t => {
  const whole = path.join(dir, 'heads.jsonl')
  fs.writeFileSync(whole, lines.join(''))
  const head = (seq: number, extra: object = {}): string => JSON.stringify({ level: 30, chain: chain.chain, seq, mac: (JSON.parse(lines[seq]) as { mac: string }).mac, ...extra, msg: 'audit: chain closed' })
  const log = path.join(dir, 'proxy.log')
  fs.writeFileSync(log, [
    'Dec 07 00:00:00 host xksgate[42]: ' + head(1),
    head(3),
    JSON.stringify({ level: 30, chain: '0123456789abcdef', seq: 9, mac: 'a'.repeat(64), msg: 'audit: chain opened' }),
    JSON.stringify({ level: 30, chain: chain.chain, seq: 2, mac: 'b'.repeat(64), msg: 'something else' }),
    'not json "audit: chain closed"',
  ].join('\n') + '\n')
  const [status, out] = await run(['verify', '--key-file', keyFile, '--heads-from', log, whole])
  t.equal(status, 0, out)
  t.match(out, /1 head\(s\) in the log belong to chains in none of the files given, and were skipped\nverified\n$/)
  fs.writeFileSync(path.join(dir, 'cut.jsonl'), lines.slice(0, 3).join(''))
  const [cutStatus, cut] = await run(['verify', '--key-file', keyFile, '--heads-from', log, path.join(dir, 'cut.jsonl')])
  t.equal(cutStatus, 1)
  t.match(cut, /FAILED: chain [0-9a-f]{16}: record\(s\) seq 3 to 3 were removed from its end/)
  // A stop whose last records never reached the disk names a head the file does not hold: not held against it.
  fs.writeFileSync(log, head(3, { unwritten: 120 }) + '\n')
  t.equal((await run(['verify', '--key-file', keyFile, '--heads-from', log, path.join(dir, 'cut.jsonl')]))[0], 0)
})
