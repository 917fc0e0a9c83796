/**
 * `npm run docs`: writes the generated reference pages (docs/configuration.md, docs/cli.md) and the generated
 * regions of hand-written pages (between `<!-- generated:NAME -->` and `<!-- end:NAME -->`, e.g. the error table
 * of docs/troubleshooting.md). With `--check` it writes nothing and exits 1 naming each page that is out of date.
 */
import fs from 'node:fs'
import path from 'node:path'
import { cliPage } from './cli-reference'
import { configurationPage } from './config-reference'
import { alertsSection, errorsSection } from './troubleshooting'

const DOCS = path.join(__dirname, '../../../docs')

/** Regions of hand-written pages: page → region name → its generated text. */
const REGIONS: Record<string, Record<string, () => string>> = {
  'troubleshooting.md': { errors: errorsSection, alerts: alertsSection },
}

/** `text` with each generated region replaced by what the code generates now; throws if a marker is missing. */
export function withRegions (page: string, text: string): string {
  let result = text
  for (const [name, generate] of Object.entries(REGIONS[page] ?? {})) {
    const begin = `<!-- generated:${name} (npm run docs) -->`
    const end = `<!-- end:${name} -->`
    const from = result.indexOf(begin)
    const to = result.indexOf(end)
    if (from === -1 || to < from) throw new Error(`docs/${page} has no "${begin}" … "${end}" region`)
    result = result.slice(0, from + begin.length) + '\n\n' + generate() + '\n' + result.slice(to)
  }
  return result
}

/** Every generated page and every page with generated regions, as the code would write them now. */
export async function generatedPages (): Promise<Record<string, string>> {
  const pages: Record<string, string> = { 'configuration.md': configurationPage(), 'cli.md': await cliPage() }
  for (const page of Object.keys(REGIONS)) pages[page] = withRegions(page, fs.readFileSync(path.join(DOCS, page), 'utf8'))
  return pages
}

async function main (check: boolean): Promise<number> {
  let stale = 0
  for (const [name, text] of Object.entries(await generatedPages())) {
    const file = path.join(DOCS, name)
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined
    if (current === text) continue
    if (check) {
      process.stderr.write(`docs/${name} is out of date: run npm run docs\n`)
      stale++
    } else {
      fs.writeFileSync(file, text)
      process.stdout.write(`wrote docs/${name}\n`)
    }
  }
  return stale === 0 ? 0 : 1
}

if (require.main === module) {
  main(process.argv.includes('--check')).then(code => { process.exitCode = code }, err => { console.error(err); process.exitCode = 1 })
}
