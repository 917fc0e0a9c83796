import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import { AuditSink, openAuditSink } from '../../src/audit/sink'
import { rotatedFiles } from '../../src/audit/head'
import { rotatedName } from '../../src/audit/writer'
import { verifyFiles } from '../../src/audit/verify'
import { ConfigError } from '../../src/config/load'
import type { ResolvedAudit } from '../../src/config/schema'
import { Secret } from '../../src/config/secret'
import { createLogger } from '../../src/log'
import type { RequestLogEntry } from '../../src/xks/request-log'
import { until } from '../helpers/until'

const KEY = 'audit-key-'.repeat(4)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-audit-sink-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

let logged = ''
const log = createLogger({ level: 'info', destination: new Writable({ write (chunk, _enc, done) { logged += String(chunk); done() } }) })

let n = 0
function auditConfig (overrides: Partial<ResolvedAudit> = {}): ResolvedAudit {
  return { file: path.join(dir, `audit-${n++}.jsonl`), key: new Secret(KEY), rotateBytes: 1 << 20, maxBufferBytes: 1 << 20, ...overrides }
}

const entry = (i: number): RequestLogEntry => ({
  operation: 'encrypt', keyStore: 'ks', uriPrefix: '/ks/kms/xks/v1', keyId: 'foo', accessKeyId: 'AKIDAKIDAKIDAKIDAKID', region: 'us-east-1',
  status: 200, errorName: undefined, detail: undefined, latencyMs: 1.25, remote: '127.0.0.1',
  metadata: { kmsRequestId: `req-${i}`, kmsOperation: 'Encrypt', awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice' },
})

const verify = (files: string[]): ReturnType<typeof verifyFiles> => verifyFiles(files, Buffer.from(KEY))
const records = (file: string): Array<Record<string, unknown>> => fs.readFileSync(file, 'utf8').trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)

t.test('a restart continues the chain where the last record left it', async t => {
  const config = auditConfig()
  for (let run = 0; run < 2; run++) {
    const sink = AuditSink.open(config, log, { version: 'test' })
    for (let i = 0; i < 5; i++) sink.record(entry(i))
    await sink.close()
  }
  const report = verify([config.file])
  t.equal(report.ok, true, String(report.problem))
  t.same(records(config.file).map(r => r.type), ['start', ...Array(5).fill('request'), 'stop', 'start', ...Array(5).fill('request'), 'stop'])
  const first = records(config.file)[1]
  t.same([first.operation, first.kmsRequestId, first.principal, first.status], ['encrypt', 'req-0', 'arn:aws:iam::123456789012:user/Alice', 200], 'the request log fields')
  t.notOk(fs.existsSync(config.file + '.lock'), 'the slot lock is released')
})

t.test('a start names what it follows; the end cut across a restart shows, and the log\'s heads prove it (issue #17, item 4)', async t => {
  const config = auditConfig()
  const logStart = logged.length
  const sink = AuditSink.open(config, log, { version: 'test' })
  for (let i = 0; i < 4; i++) sink.record(entry(i))
  await sink.close()
  const first = records(config.file)
  t.same(first.map(r => [r.seq, r.type]), [[0, 'start'], [1, 'request'], [2, 'request'], [3, 'request'], [4, 'request'], [5, 'stop']])
  t.notOk('previous' in first[0], 'the first start follows nothing')

  // A clean restart: the start names the stop's seq and MAC.
  const clean = AuditSink.open(config, log, { version: 'test' })
  await clean.close()
  t.same(records(config.file)[6].previous, { seq: 5, mac: first[5].mac, stopped: true })
  t.same(verify([config.file]).chains[0].warnings, [], 'no warning after a clean stop')

  // Cut back to seq 2, restart: the new start says the chain did not end in a stop.
  const lines = fs.readFileSync(config.file, 'utf8').split('\n')
  fs.writeFileSync(config.file, lines.slice(0, 3).join('\n') + '\n')
  const cut = AuditSink.open(config, log, { version: 'test' })
  await cut.close()
  const after = records(config.file)
  t.match(after[3], { seq: 3, type: 'start', previous: { seq: 2, mac: first[2].mac, stopped: false } })
  const report = verify([config.file])
  t.equal(report.ok, true, 'the chain alone still verifies: it cannot tell a crash from a cut')
  t.match(report.chains[0].warnings, [/:4: the start at seq 3 follows seq 2 \(request\), not a stop/], 'but the verifier flags the start')

  // Every start and stop head went to the ordinary log: against them the cut shows.
  const heads = logged.slice(logStart).split('\n').filter(l => /audit: chain (opened|closed)/.test(l)).map(l => JSON.parse(l) as { msg: string, chain: string, seq: number, mac: string })
  t.same(heads.map(h => [h.msg, h.seq]), [
    ['audit: chain opened', 0], ['audit: chain closed', 5], ['audit: chain opened', 6], ['audit: chain closed', 7], ['audit: chain opened', 3], ['audit: chain closed', 4],
  ])
  t.match(verifyFiles([config.file], Buffer.from(KEY), { loggedHeads: heads }).problem, /seq 5 to 7 were removed from its end \(the head given is seq 7\)/)
  // Once the new run has written past the cut, the records at the logged heads' seqs differ.
  const longer = AuditSink.open(config, log, { version: 'test' })
  for (let i = 0; i < 4; i++) longer.record(entry(i))
  await longer.close()
  t.match(verifyFiles([config.file], Buffer.from(KEY), { loggedHeads: heads }).problem, /record seq 5 is not the one the head given names \(the chain was rewritten from there\)/)
})

t.test('rotation: the chain runs across the files, and a restart right after a rotation continues from the rotated file', async t => {
  const config = auditConfig({ rotateBytes: 4096 })
  const sink = AuditSink.open(config, log, { version: 'test' })
  // Written out every 10 records (~4 KiB): rotation happens between batches, so each batch ends a file.
  for (let i = 0; i < 60; i++) {
    sink.record(entry(i))
    if (i % 10 === 9) await until('a batch written', () => sink.stats.bufferedBytes === 0)
  }
  await sink.close()
  // As if the process stopped right after a rotation: no current file, the head is in the newest rotated one.
  if (fs.existsSync(config.file)) fs.renameSync(config.file, rotatedName(config.file, new Date(Date.now() + 1000)))
  t.ok(rotatedFiles(config.file).length >= 2, `${rotatedFiles(config.file).length} rotated files`)
  const again = AuditSink.open(config, log, { version: 'test' })
  again.record(entry(99))
  await again.close()
  const files = [...rotatedFiles(config.file), config.file].filter(f => fs.existsSync(f))
  const report = verify(files)
  t.equal(report.ok, true, String(report.problem))
  t.equal(report.chains.length, 1)
  t.equal(report.chains[0].records, 1 + 60 + 1 + 1 + 1 + 1, `all records of ${files.length} files, in one chain`)
})

t.test('retention: audit.keepFiles and audit.keepBytes remove the oldest rotated files; the rest verifies with --partial', async t => {
  for (const [name, keep, bound] of [['keepFiles', { keepFiles: 2 }, (files: string[]) => files.length <= 2], ['keepBytes', { keepBytes: 10_000 }, (files: string[]) => files.reduce((n, f) => n + fs.statSync(f).size, 0) <= 10_000]] as const) {
    const config = auditConfig({ rotateBytes: 4096, ...keep })
    const logStart = logged.length
    const sink = AuditSink.open(config, log, { version: 'test' })
    for (let i = 0; i < 80; i++) {
      sink.record(entry(i))
      if (i % 10 === 9) await until('a batch written', () => sink.stats.bufferedBytes === 0)
    }
    await sink.close()
    const rotated = rotatedFiles(config.file)
    t.ok(rotated.length >= 1 && bound(rotated), `${name}: ${rotated.length} rotated file(s) kept`)
    t.match(logged.slice(logStart), /"removed":\[.*audit: rotated files removed/, `${name}: the removal is logged`)
    const report = verifyFiles([...rotated, config.file].filter(f => fs.existsSync(f)), Buffer.from(KEY), { partial: true })
    t.equal(report.ok, true, String(report.problem))
    t.ok(report.chains[0].firstSeq > 0, `${name}: the chain now begins at seq ${report.chains[0].firstSeq}`)
    t.equal(report.chains[0].lastSeq, 81, 'and runs to the stop')
  }
  // The newest rotated file is kept whatever the bound: a restart right after a rotation continues from it.
  const config = auditConfig({ rotateBytes: 4096, keepBytes: 4096 })
  const sink = AuditSink.open(config, log, { version: 'test' })
  for (let i = 0; i < 40; i++) {
    sink.record(entry(i))
    if (i % 10 === 9) await until('a batch written', () => sink.stats.bufferedBytes === 0)
  }
  await sink.close()
  t.equal(rotatedFiles(config.file).length, 1, 'the newest rotated file, though it alone exceeds keepBytes')
})

t.test('two live processes get two files (slots); a stale lock is taken over', async t => {
  const config = auditConfig()
  const a = AuditSink.open(config, log, { version: 'test' })
  const b = AuditSink.open(config, log, { version: 'test' })
  a.record(entry(1))
  b.record(entry(2))
  await a.close()
  await b.close()
  t.ok(fs.existsSync(config.file + '.1'), 'the second writes <file>.1')
  t.equal(verify([config.file]).ok, true)
  t.equal(verify([config.file + '.1']).ok, true)
  fs.writeFileSync(config.file + '.lock', '999999999')
  const c = AuditSink.open(config, log, { version: 'test' })
  await c.close()
  t.equal(records(config.file).at(-2)?.type, 'start', 'slot 0 again')
})

t.test('the disk full: records are never waited for, the buffer stays bounded, drops are counted and declared in the chain', async t => {
  const real = path.join(dir, 'full-then-fine.jsonl')
  const config = auditConfig({ file: path.join(dir, 'link.jsonl'), maxBufferBytes: 65536 })
  fs.symlinkSync('/dev/full', config.file)
  const sink = AuditSink.open(config, log, { version: 'test' })
  for (let i = 0; i < 400; i++) sink.record(entry(i))
  t.ok(sink.stats.bufferedBytes <= 65536, `buffer bounded: ${sink.stats.bufferedBytes} bytes`)
  t.ok(sink.stats.dropped > 0, `${sink.stats.dropped} dropped`)
  await until('a failed write', () => sink.stats.writeErrors > 0)
  t.match(logged, /audit: writing .*link\.jsonl failed \(ENOSPC\)/)
  const dropped = sink.stats.dropped
  // The disk has room again: the writer reopens the file on its next retry.
  fs.rmSync(config.file)
  fs.symlinkSync(real, config.file)
  await until('the buffer written out', () => sink.stats.bufferedBytes === 0, 5000)
  sink.record(entry(1000))
  await sink.close()
  const written = records(real)
  const notices = written.filter(r => r.type === 'dropped')
  t.same(notices.map(r => r.count), [dropped], 'one notice declares every dropped record')
  t.equal(written.at(-2)?.kmsRequestId, 'req-1000', 'the record after the notice')
  const report = verify([real])
  t.equal(report.ok, true, String(report.problem))
  t.equal(report.chains[0].dropped, dropped)
})

t.test('a slow sink (a pipe nobody reads yet): records never wait, the buffer stays bounded, and all is written once it is read', async t => {
  const fifo = path.join(dir, 'slow.fifo')
  execFileSync('mkfifo', [fifo])
  const out = path.join(dir, 'slow.out')
  const sink = AuditSink.open(auditConfig({ file: fifo, maxBufferBytes: 65536 }), log, { version: 'test' })
  for (let i = 0; i < 400; i++) sink.record(entry(i))
  await new Promise(resolve => setTimeout(resolve, 50))
  t.ok(sink.stats.bufferedBytes <= 65536 && sink.stats.dropped > 0, `bounded (${sink.stats.bufferedBytes} bytes), ${sink.stats.dropped} dropped`)
  const reader = spawn('sh', ['-c', 'exec cat "$0" > "$1"', fifo, out])
  const exited = new Promise(resolve => reader.once('exit', resolve))
  await until('the pipe drained', () => sink.stats.bufferedBytes === 0)
  sink.record(entry(1000))
  await sink.close()
  await exited
  const report = verify([out])
  t.equal(report.ok, true, String(report.problem))
  t.equal(report.chains[0].dropped, sink.stats.dropped)
})

t.test('a stop never waits on a stuck disk longer than its bound', async t => {
  const fifo = path.join(dir, 'stuck.fifo')
  execFileSync('mkfifo', [fifo])
  const sink = AuditSink.open(auditConfig({ file: fifo }), log, { version: 'test' })
  sink.record(entry(1))
  const started = Date.now()
  await sink.close()
  t.ok(Date.now() - started < 5000, 'closed within its 2 s bound (nobody ever read the pipe)')
  t.match(logged, /"unwritten":\d+.*audit: chain closed/)
  // Unblock the thread-pool thread still opening the pipe.
  fs.closeSync(fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK))
})

t.test('shed requests are summed in one record', async t => {
  const config = auditConfig()
  const sink = AuditSink.open(config, log, { version: 'test' })
  for (let i = 0; i < 3; i++) sink.countShed()
  await sink.close()
  t.same(records(config.file).filter(r => r.type === 'shed').map(r => [r.count, r.status, r.errorName]), [[3, 429, 'ThrottlingException']])
})

t.test('requests rejected before authentication are summed in one record, their counts exact', async t => {
  const config = auditConfig()
  const sink = AuditSink.open(config, log, { version: 'test' })
  const rejected = { ...entry(0), status: 401, errorName: 'AuthenticationFailedException', detail: 'Signature does not match', metadata: undefined }
  for (let i = 0; i < 5; i++) sink.countRejected(rejected)
  sink.countRejected({ ...rejected, remote: '127.0.0.2' })
  await sink.close()
  const [summary, ...more] = records(config.file).filter(r => r.type === 'rejected')
  t.equal(more.length, 0, 'one record for the interval')
  t.match(summary, {
    count: 6, intervalMs: 1000,
    groups: [
      { status: 401, errorName: 'AuthenticationFailedException', detail: 'Signature does not match', keyStore: 'ks', accessKeyId: 'AKIDAKIDAKIDAKIDAKID', remote: '127.0.0.1', count: 5 },
      { remote: '127.0.0.2', count: 1 },
    ],
  })
  t.notOk('other' in summary, 'no overflow')
  t.ok(verify([config.file]).ok)
})

t.test('a record cut short at the end of the file: the restart declares it and the chain still verifies', async t => {
  const config = auditConfig()
  const sink = AuditSink.open(config, log, { version: 'test' })
  sink.record(entry(1))
  await sink.close()
  fs.appendFileSync(config.file, '{"v":1,"chain":"abc","se')
  const again = AuditSink.open(config, log, { version: 'test' })
  await again.close()
  const report = verify([config.file])
  t.equal(report.ok, true, String(report.problem))
  t.match(report.chains[0].notes[0], 'a record cut short')
})

t.test('a file whose end does not verify under the key refuses to start, naming /audit/key', async t => {
  const config = auditConfig()
  const sink = AuditSink.open(config, log, { version: 'test' })
  await sink.close()
  const problem = (audit: ResolvedAudit): string => {
    try { openAuditSink(audit, log, { version: 'test' }) } catch (err) { return err instanceof ConfigError ? err.problems[0] : String(err) }
    return 'opened'
  }
  t.match(problem({ ...config, key: new Secret('another-key-'.repeat(3)) }), /^\/audit\/key: no record at the end of .* verifies with this key/)
  t.match(problem({ ...config, file: '/proc/no/such/dir/audit.jsonl' }), /^\/audit\/file: cannot write the audit log beside .*: ENOENT/)
})
