/**
 * The generated reference pages (src/docs/) against the code: docs/configuration.md and docs/cli.md must be what
 * `npm run docs` writes now, and every field of the configuration schema must have a description to write.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { configFields } from '../../src/docs/config-reference'
import { generatedPages } from '../../src/docs/generate'
import { repoRoot } from '../helpers/paths'

t.test('each generated page is up to date (npm run docs)', async t => {
  for (const [name, text] of Object.entries(await generatedPages())) {
    const file = path.join(repoRoot, 'docs', name)
    const onDisk = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
    t.equal(onDisk, text, `docs/${name} matches what npm run docs generates`)
  }
})

t.test('every configuration field has a description, and secret and restart-only fields are marked', async t => {
  const fields = configFields()
  t.same(fields.filter(f => f.description.trim() === '').map(f => f.path), [], 'no field without a description')
  const byPath = new Map(fields.map(f => [f.path, f]))
  t.equal(byPath.get('hsm[].pin')?.type, 'secret')
  t.equal(byPath.get('server.port')?.reload, 'restart')
  t.equal(byPath.get('keyStores[].credentials[].secretAccessKey')?.reload, 'reload')
  t.equal(byPath.get('keyStores[].keys.<externalKeyId>.label')?.defaultValue, 'required')
})
