/**
 * How operator commands change the configuration file: read the JSON as written, change one place, check the
 * result with the startup validation (so a command never leaves a file the proxy would refuse), and replace the
 * file atomically (a temporary file in the same directory, renamed over it) keeping its mode and everything else
 * in it. When the file cannot be written, the change is printed for the operator to apply instead.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ConfigError, loadConfig, validateConfig } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import { USAGE_EXIT, type CliIo } from './command'

/** The file as written (references unresolved, no defaults) and as the proxy would load it. */
export interface EditableConfig {
  file: string
  raw: RawJson
  config: XksgateConfig
}

// The file's JSON as parsed: the edits reach into it by the schema's field names.
export type RawJson = Record<string, any>

export function readEditableConfig (file: string, env: NodeJS.ProcessEnv): EditableConfig {
  const config = loadConfig({ file, env })
  return { file, raw: readRawConfig(file), config }
}

/** The file's JSON object as written, unvalidated; a ConfigError when it is not one. */
export function readRawConfig (file: string): RawJson {
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError([`${file}: ${(err as Error).message}`])
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError([`${file}: not a JSON object`])
  return raw as RawJson
}

/**
 * Throws the ConfigError the proxy would give for the edited file. Commands call it before they create anything
 * in the HSM, so a change the proxy would refuse never costs an HSM key.
 */
export function checkEdited (edit: Pick<EditableConfig, 'file' | 'raw'>, env: NodeJS.ProcessEnv): void {
  validateConfig(edit.raw, { baseDir: path.dirname(path.resolve(edit.file)), env })
}

/** One changed place in the file, for the message (and for the operator, when the file is read-only). */
export interface ConfigChange {
  /** JSON pointer of the changed value, e.g. /keyStores/0/keys/foo. */
  pointer: string
  /** Its new value; undefined when the change removed it. */
  value: unknown
}

/**
 * Validates `raw` and writes it to `file`. True when written; false when the file is not writable
 * (the change is printed on stdout instead). Throws ConfigError when the edited configuration would be invalid.
 */
export function saveConfig (edit: Pick<EditableConfig, 'file' | 'raw'>, change: ConfigChange, io: CliIo): boolean {
  checkEdited(edit, io.env)
  const text = JSON.stringify(edit.raw, null, 2) + '\n'
  const tmp = path.join(path.dirname(edit.file), `.${path.basename(edit.file)}.${process.pid}.tmp`)
  try {
    const mode = fs.statSync(edit.file).mode & 0o7777
    fs.writeFileSync(tmp, text, { mode, flag: 'wx' })
    fs.renameSync(tmp, edit.file)
    return true
  } catch (err) {
    if (fs.existsSync(tmp)) fs.rmSync(tmp)
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err
    io.stdout(`${edit.file} is not writable (${code}): make this change yourself, at ${change.pointer}:\n` +
      (change.value === undefined ? '  (remove it)\n' : JSON.stringify(change.value, null, 2) + '\n'))
    return false
  }
}

/** The key store a command works on: the one named, or the only one. Throws ConfigError otherwise. */
export function selectKeyStore (config: XksgateConfig, name: string | undefined): number {
  const names = config.keyStores.map(s => s.name)
  if (name === undefined) {
    if (names.length === 1) return 0
    throw new ConfigError([`/keyStores: there are ${names.length} key stores; give --key-store (one of: ${names.join(', ')})`])
  }
  const index = names.indexOf(name)
  if (index < 0) throw new ConfigError([`/keyStores: no key store named ${JSON.stringify(name)} (there are: ${names.join(', ')})`])
  return index
}

/** A configuration error as the commands report it: the problems on stderr, exit 2. Anything else is rethrown. */
export function reportConfigError (program: string, err: unknown, io: CliIo): number {
  if (!(err instanceof ConfigError)) throw err
  io.stderr(`${program}: ${err.problems.join(`\n${program}: `)}\n`)
  return USAGE_EXIT
}

/** A file a command must write could not be: an operator error (permissions, a missing directory), said in one line. */
export function unwritable (file: string, err: unknown, hint: string): never {
  const code = (err as NodeJS.ErrnoException).code
  if (code === undefined || !['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR'].includes(code)) throw err
  throw new ConfigError([`cannot write ${file} (${code}); ${hint}`])
}
