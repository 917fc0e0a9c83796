/**
 * `npm run docs`: writes the generated reference pages (docs/configuration.md, docs/cli.md). With `--check` it
 * writes nothing and exits 1 naming each page that differs from what the code generates.
 */
import fs from 'node:fs'
import path from 'node:path'
import { cliPage } from './cli-reference'
import { configurationPage } from './config-reference'

const DOCS = path.join(__dirname, '../../../docs')

export async function generatedPages (): Promise<Record<string, string>> {
  return { 'configuration.md': configurationPage(), 'cli.md': await cliPage() }
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
