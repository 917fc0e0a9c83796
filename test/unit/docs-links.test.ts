/**
 * Every relative link in the repository's Markdown resolves: the file exists, and a `#fragment` names a heading
 * of that file as GitHub renders it (github-slugger's rule: lower case, punctuation dropped, spaces to hyphens,
 * a repeated heading numbered -1, -2 …). External links are not fetched.
 */
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { repoRoot } from '../helpers/paths'

const markdownFiles = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\n').filter(f => f !== '' && fs.existsSync(path.join(repoRoot, f)))

/** Markdown outside fenced code blocks, where links and headings are real. */
function prose (text: string): string[] {
  let fenced = false
  return text.split('\n').filter(line => {
    if (/^\s*(```|~~~)/.test(line)) { fenced = !fenced; return false }
    return !fenced
  })
}

function slug (heading: string): string {
  return heading.trim().toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** The headings of a Markdown file, without their backticks. */
function headings (file: string): string[] {
  return prose(fs.readFileSync(file, 'utf8')).flatMap(line => {
    const heading = /^#{1,6} (.*)$/.exec(line)
    return heading === null ? [] : [heading[1].replace(/`/g, '')]
  })
}

function anchors (file: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  for (const line of prose(fs.readFileSync(file, 'utf8'))) {
    const heading = /^#{1,6} (.*)$/.exec(line)
    if (heading !== null) {
      const base = slug(heading[1].replace(/`/g, ''))
      const n = seen.get(base) ?? 0
      seen.set(base, n + 1)
      result.add(n === 0 ? base : `${base}-${n}`)
    }
    for (const m of line.matchAll(/<a (?:id|name)="([^"]+)"/g)) result.add(m[1])
  }
  return result
}

t.test('every relative link and anchor in the Markdown resolves', async t => {
  const broken: string[] = []
  for (const file of markdownFiles) {
    const abs = path.join(repoRoot, file)
    prose(fs.readFileSync(abs, 'utf8')).forEach(line => {
      // Inline code is not a link.
      for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]
        if (/^[a-z]+:/i.test(target)) continue
        const [filePart, fragment] = target.split('#', 2)
        const resolved = filePart === '' ? abs : path.resolve(path.dirname(abs), decodeURIComponent(filePart))
        if (!fs.existsSync(resolved)) { broken.push(`${file}: ${target}: no such file`); continue }
        if (fragment !== undefined && fragment !== '' && resolved.endsWith('.md') && !anchors(resolved).has(fragment)) {
          broken.push(`${file}: ${target}: no heading with that anchor in ${path.relative(repoRoot, resolved)}`)
        }
      }
    })
  }
  t.ok(markdownFiles.includes('README.md'), 'the README is among the files checked')
  t.same(broken, [], broken.join('\n'))
})

t.test('headings become GitHub anchors', async t => {
  t.equal(slug('Quick start: two commands from a fresh clone'), 'quick-start-two-commands-from-a-fresh-clone')
  t.equal(slug('Processes, threads, sessions: sizing'), 'processes-threads-sessions-sizing')
  t.equal(slug('AWS: NLB and PrivateLink'), 'aws-nlb-and-privatelink')
  t.equal(slug('The `xksgate` operator commands'.replace(/`/g, '')), 'the-xksgate-operator-commands')
})

t.test('every section cited as docs/PAGE.md "Heading" (or README.md, bench/README.md) names a heading of that page', async t => {
  const sources = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\n').filter(f => /\.(ts|js|cjs|sh|ya?ml|service|tf|md)$|Dockerfile$/.test(f) && fs.existsSync(path.join(repoRoot, f)))
    .filter(f => f !== 'test/unit/docs-links.test.ts')
  const broken: string[] = []
  let citations = 0
  for (const file of sources) {
    // A citation may wrap inside a comment: join the lines, dropping comment leaders.
    const text = fs.readFileSync(path.join(repoRoot, file), 'utf8').replace(/\s*\n\s*(?:\*|\/\/|#)?\s*/g, ' ')
    for (const m of text.matchAll(/((?:docs\/[\w/-]+|bench\/README|README)\.md),? "([^"]+)"/g)) {
      citations++
      const page = path.join(repoRoot, m[1])
      // "Behaviour → TLS" names a subsection.
      const wanted = m[2].split(' → ').pop() as string
      if (!fs.existsSync(page) || !headings(page).some(h => h.startsWith(wanted))) broken.push(`${file}: ${m[1]} "${m[2]}"`)
    }
  }
  t.ok(citations > 50, `${citations} citations checked`)
  t.same(broken, [], broken.join('\n'))
})
