import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { AuditChain } from '../../src/audit/chain'
import { verifyFiles } from '../../src/audit/verify'

const KEY = Buffer.from('k'.repeat(32))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-audit-verify-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))

/** `n` request records of one chain, as lines (each with its newline). */
function chainLines (n: number, key = KEY): string[] {
  const chain = new AuditChain(key, undefined)
  const lines: string[] = []
  for (let i = 0; i < n; i++) chain.tryAppend(i === 0 ? 'start' : 'request', { status: 200, keyId: `k${i}` }, line => { lines.push(line); return true })
  return lines
}

let counter = 0
function write (lines: string[]): string {
  const file = path.join(dir, `audit-${counter++}.jsonl`)
  fs.writeFileSync(file, lines.join(''))
  return file
}

t.test('an untouched chain verifies, also split over files given in any order', async t => {
  const lines = chainLines(10)
  const whole = verifyFiles([write(lines)], KEY)
  t.same([whole.ok, whole.chains[0].records, whole.chains[0].lastSeq], [true, 10, 9])
  const split = verifyFiles([write(lines.slice(6)), write(lines.slice(0, 3)), write(lines.slice(3, 6))], KEY)
  t.equal(split.ok, true, String(split.problem))
})

t.test('each kind of tampering is reported at its place', async t => {
  const lines = chainLines(8)
  const cases: Array<[string, string[], RegExp]> = [
    ['edited', lines.map((l, i) => i === 4 ? l.replace('"status":200', '"status":201') : l), /:5: record seq 4 was edited/],
    ['removed', lines.filter((_, i) => i !== 3), /:4: record\(s\) seq 3 were removed before seq 4/],
    ['two removed', lines.filter((_, i) => i !== 3 && i !== 4), /seq 3 to 4 were removed before seq 5/],
    ['inserted', [...lines.slice(0, 5), '{"forged":true}\n', ...lines.slice(5)], /:6: a line was inserted after seq 4/],
    ['reordered', [...lines.slice(0, 2), lines[3], lines[2], ...lines.slice(4)], /:3: records were reordered: seq 3 comes before seq 2/],
    ['first record removed', lines.slice(1), /begins at seq 1: records seq 0 to 0 were removed/],
    ['a record of another key', [...lines.slice(0, 4), chainLines(5, Buffer.from('x'.repeat(32)))[4], ...lines.slice(4)], /:5: a line was inserted after seq 3/],
  ]
  for (const [name, tampered, problem] of cases) {
    const report = verifyFiles([write(tampered)], KEY)
    t.equal(report.ok, false, name)
    t.match(report.problem, problem, name)
  }
})

t.test('a rotated file removed from the middle is a gap; a chain started later is accepted only with partial', async t => {
  const lines = chainLines(9)
  const gap = verifyFiles([write(lines.slice(0, 3)), write(lines.slice(6))], KEY)
  t.match(gap.problem, /seq 3 to 5 were removed before seq 6/)
  const later = [write(lines.slice(3, 6)), write(lines.slice(6))]
  t.equal(verifyFiles(later, KEY).ok, false)
  const partial = verifyFiles(later, KEY, { partial: true })
  t.equal(partial.ok, true)
  t.match(partial.chains[0].notes[0], 'begins at seq 3')
})

t.test('a record cut short by a crash passes only when the restart declares exactly those bytes', async t => {
  const chain = new AuditChain(KEY, undefined)
  const lines: string[] = []
  const add = (type: string, fields: object): void => { chain.tryAppend(type, fields, l => { lines.push(l); return true }) }
  add('start', {})
  add('request', { status: 200 })
  const cut = '{"v":1,"chain":"' + chain.chain + '","seq":2,"ti'
  add('start', { damagedTail: cut.length })
  const declared = verifyFiles([write([...lines.slice(0, 2), cut + '\n', lines[2]])], KEY)
  t.equal(declared.ok, true, String(declared.problem))
  t.match(declared.chains[0].notes[0], 'a record cut short')
  const undeclared = verifyFiles([write([...lines.slice(0, 2), cut + 'xyz\n', lines[2]])], KEY)
  t.match(undeclared.problem, /a line was inserted after seq 1/)
})

t.test('a start that follows neither a stop nor a declared damaged tail is flagged, in this format and the earlier one', async t => {
  const build = (types: Array<[string, object?]>): string[] => {
    const chain = new AuditChain(KEY, undefined)
    const lines: string[] = []
    for (const [type, fields] of types) chain.tryAppend(type, fields ?? {}, l => { lines.push(l); return true })
    return lines
  }
  const clean = verifyFiles([write(build([['start'], ['request'], ['stop'], ['start', { previous: { seq: 2, stopped: true } }], ['request']]))], KEY)
  t.same([clean.ok, clean.chains[0].warnings], [true, []], 'after a stop')
  // The previous version's start records name nothing; the record before them still tells.
  const earlier = verifyFiles([write(build([['start'], ['request'], ['stop'], ['start'], ['request'], ['start']]))], KEY)
  t.equal(earlier.ok, true, 'an earlier version\'s chain still verifies')
  t.match(earlier.chains[0].warnings, [/:6: the start at seq 5 follows seq 4 \(request\), not a stop: the process before crashed, or records after seq 4 were cut off/])
  t.equal(earlier.chains[0].warnings.length, 1)
  // A cut-short record the restart declares: a crash the chain itself accounts for.
  const chain = new AuditChain(KEY, undefined)
  const lines: string[] = []
  chain.tryAppend('start', {}, l => { lines.push(l); return true })
  chain.tryAppend('request', {}, l => { lines.push(l); return true })
  const cut = '{"v":1,"chain":"' + chain.chain + '","seq":2,"ti'
  chain.tryAppend('start', { damagedTail: cut.length + 1 }, l => { lines.push(l); return true })
  const declared = verifyFiles([write([...lines.slice(0, 2), cut + '\n', lines[2]])], KEY)
  t.same([declared.ok, declared.chains[0].warnings], [true, []], 'after a declared damaged tail')
  // A chain given from its middle (--partial): what came before its first record is not known, nothing to flag.
  const partial = verifyFiles([write(build([['request'], ['request'], ['start']]).slice(2))], KEY, { partial: true })
  t.same([partial.ok, partial.chains[0].warnings], [true, []])
})

t.test('a file with no authentic record at all (wrong key)', async t => {
  const report = verifyFiles([write(chainLines(3))], Buffer.from('w'.repeat(32)))
  t.match(report.problem, /no record in it verifies with this key/)
})

t.test('the newest records removed: found only against a head recorded elsewhere', async t => {
  const lines = chainLines(6)
  const last = JSON.parse(lines[5]) as { chain: string, seq: number, mac: string }
  const head = { chain: last.chain, seq: last.seq, mac: last.mac }
  const truncated = write(lines.slice(0, 4))
  t.equal(verifyFiles([truncated], KEY).ok, true, 'a chain cannot vouch for its own end')
  t.match(verifyFiles([truncated], KEY, { heads: [head] }).problem, /seq 4 to 5 were removed from its end \(the head given is seq 5\)/)
  t.equal(verifyFiles([write(lines)], KEY, { heads: [head] }).ok, true)
  t.match(verifyFiles([write(lines)], KEY, { heads: [{ ...head, mac: 'f'.repeat(64) }] }).problem, /record seq 5 is not the one the head given names/)
  t.match(verifyFiles([write(lines)], KEY, { heads: [{ ...head, chain: '0123456789abcdef' }] }).problem, /in none of the files/)
})
