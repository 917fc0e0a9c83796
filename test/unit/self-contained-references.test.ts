import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { repoRoot } from '../helpers/paths'

// Regression (issue 8.11): 84 comments cited "digest §…", a document outside this repository. Every reference
// must resolve inside it: docs/xks-spec.md by a section that exists there, never a file a maintainer lacks.

const tracked = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\n').filter(f => /\.(ts|js|cjs|md|sh|json)$/.test(f) && !f.includes('package-lock') && fs.existsSync(path.join(repoRoot, f)))
const read = (file: string): string => fs.readFileSync(path.join(repoRoot, file), 'utf8')

/** Section ids the page defines: its numbered headings, and the numbered items of §16. */
function sections (): Set<string> {
  const ids = new Set<string>()
  let inInconsistencies = false
  for (const line of read('docs/xks-spec.md').split('\n')) {
    const heading = /^#{2,3} (\d+(?:\.\d+)?)\.? /.exec(line)
    if (heading !== null) {
      ids.add(heading[1])
      inInconsistencies = heading[1] === '16'
      continue
    }
    const item = /^(\d+)\. /.exec(line)
    if (inInconsistencies && item !== null) ids.add(`16.${item[1]}`)
  }
  return ids
}

t.test('no file cites a document outside the repository', async t => {
  const outside = /digest §|\.\.\/shared|STACK_NOTES|TEST_VECTORS|XKS_SPEC_DIGEST/
  const offenders = tracked.filter(f => f !== 'test/unit/self-contained-references.test.ts' && outside.test(read(f)))
  t.same(offenders, [], `files citing outside documents: ${offenders.join(', ')}`)
})

t.test('every docs/xks-spec.md §N cited names a section of the page', async t => {
  const ids = sections()
  t.ok(ids.has('7.4') && ids.has('16.6'), 'the page has numbered sections and §16 items')
  const broken: string[] = []
  let citations = 0
  for (const file of tracked) {
    for (const m of read(file).matchAll(/docs\/xks-spec\.md §(\d+(?:\.\d+)?)/g)) {
      citations++
      if (!ids.has(m[1])) broken.push(`${file}: §${m[1]}`)
    }
  }
  t.ok(citations > 50, `${citations} citations checked`)
  t.same(broken, [], `citations of sections the page lacks: ${broken.join(', ')}`)
})
