/**
 * A key store's `policy` as the configuration gives it: inline, or {"file": "path"} (relative to the config
 * file). Read and checked once at load time; problems name the config field, the file and the statement.
 */
import fs from 'node:fs'
import path from 'node:path'
import { compilePolicy, type PolicyContext } from './compile'

/** The policy document (read from its file if need be) when it is valid; problems are added to `problems`. */
export function resolvePolicy (raw: unknown, field: string, baseDir: string, ctx: PolicyContext, problems: string[]): unknown {
  if (raw === undefined) return undefined
  let document = raw
  let where = field
  const ref = raw as Record<string, unknown>
  if (raw !== null && typeof raw === 'object' && 'file' in ref) {
    if (typeof ref.file !== 'string' || Object.keys(ref).length !== 1) {
      problems.push(`${field}: a policy file reference is {"file": "path"} and nothing else`)
      return undefined
    }
    const file = path.resolve(baseDir, ref.file)
    where = `${field} (${file})`
    try {
      document = JSON.parse(fs.readFileSync(file, 'utf8'))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      problems.push(`${field}/file: cannot read ${file}: ${code ?? (err as Error).message}`)
      return undefined
    }
  }
  const compiled = compilePolicy(document, ctx)
  if ('problems' in compiled) {
    problems.push(...compiled.problems.map(p => `${where}${p === '/' || p.startsWith('/:') ? p.slice(1) : p}`))
    return undefined
  }
  return document
}
