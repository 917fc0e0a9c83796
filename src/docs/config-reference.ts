/**
 * docs/configuration.md, generated from the configuration schema (src/config/schema.ts) so that the reference
 * cannot drift from the code: every field with its type, default, bounds, whether a reload applies it, and its
 * description. `npm run docs` writes the page; test/unit/docs-generated.test.ts fails when it is out of date.
 */
import { Kind, type TSchema } from '@sinclair/typebox'
import { RESTART_ONLY_FIELDS } from '../cluster/validated-config'
import { IN_PLACE_FIELDS } from '../runtime/in-place-config'
import { ConfigSchema } from '../config/schema'

export interface ConfigField {
  /** Dotted path as an operator writes it: `hsm[].threads`, `keyStores[].keys.<externalKeyId>.label`. */
  path: string
  /** What its values are: `integer`, `string[]`, `secret`, `"uws" \| "node"`. */
  type: string
  defaultValue: string
  bounds: string
  /**
   * What applies a change to it: any reload; only the cluster primary's reload, which replaces the serving
   * processes (one serving process refuses it in place); or only a restart.
   */
  reload: 'reload' | 'cluster reload' | 'restart'
  description: string
}

/** What the schema of one field says its values are, in the words an operator reads. */
function typeName (schema: TSchema): string {
  if (isSecret(schema)) return 'secret'
  if (schema.anyOf !== undefined) return (schema.anyOf as TSchema[]).map(typeName).join(' \\| ')
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (schema[Kind] === 'Unknown') return 'policy document'
  if (schema[Kind] === 'Record') return 'object'
  if (schema.type === 'array') return `${typeName(schema.items as TSchema)}[]`
  return String(schema.type)
}

/** A secret reference: an inline string, `{"env": …}` or `{"file": …}` (src/config/secret.ts). */
function isSecret (schema: TSchema): boolean {
  const options = schema.anyOf as TSchema[] | undefined
  return options?.length === 3 && options[1].properties?.env !== undefined && options[2].properties?.file !== undefined
}

function recordValue (schema: TSchema): TSchema | undefined {
  return schema[Kind] === 'Record' ? Object.values(schema.patternProperties as Record<string, TSchema>)[0] : undefined
}

function bounds (schema: TSchema): string {
  const parts: string[] = []
  const value = recordValue(schema)
  if (value !== undefined && value[Kind] !== 'Object') {
    const [names] = Object.keys(schema.patternProperties as Record<string, TSchema>)
    parts.push(`names \`${names}\``, `each value ${bounds(value)}`)
  }
  if (schema.maxProperties !== undefined) parts.push(`≤ ${schema.maxProperties as number} entries`)
  if (schema.minimum !== undefined && schema.maximum !== undefined) parts.push(`${schema.minimum as number}–${schema.maximum as number}`)
  else if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum as number}`)
  else if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum as number}`)
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum as number}` + (schema.maximum !== undefined ? `, ≤ ${schema.maximum as number}` : ''))
  parts.push(...range('length', schema.minLength as number | undefined, schema.maxLength as number | undefined, 'non-empty'))
  if (schema.pattern !== undefined) parts.push(`\`${schema.pattern as string}\``)
  parts.push(...range('items', schema.minItems as number | undefined, schema.maxItems as number | undefined, 'at least one item'))
  if (schema.uniqueItems === true) parts.push('unique')
  if (schema.type === 'array') {
    const inner = bounds(schema.items as TSchema)
    if (inner !== '') parts.push(`each ${inner}`)
  }
  return parts.join(', ')
}

/** A length or item-count bound in words: `length 1–32`, `items ≤ 64`, or `nonEmpty` for a bare minimum of 1. */
function range (what: string, min: number | undefined, max: number | undefined, nonEmpty: string): string[] {
  if (min !== undefined && max !== undefined) return [`${what} ${min}–${max}`]
  if (max !== undefined) return [`${what} ≤ ${max}`]
  if (min === 1) return [nonEmpty]
  return min === undefined ? [] : [`${what} ≥ ${min}`]
}

function defaultOf (schema: TSchema, required: boolean): string {
  if (schema.default !== undefined) {
    // The fleet's instance id defaults to the host name of whatever machine generated the page.
    if (schema.description?.includes('Default: the host name') === true) return 'the host name'
    return `\`${JSON.stringify(schema.default)}\``
  }
  return required ? 'required' : 'none'
}

function reloadOf (pointer: string): ConfigField['reload'] {
  if (RESTART_ONLY_FIELDS.includes(pointer)) return 'restart'
  // The pointer with the array indexes and record keys of the rows left out, as IN_PLACE_FIELDS names them.
  const inPlace = IN_PLACE_FIELDS.some(field => pointer === field || pointer.startsWith(field + '/'))
  return inPlace ? 'reload' : 'cluster reload'
}

/** Every field of the schema, depth first in the schema's own order. */
export function configFields (): ConfigField[] {
  const fields: ConfigField[] = []
  const visit = (schema: TSchema, path: string, pointer: string, required: boolean): void => {
    if (path !== '' && (schema.description !== undefined || schema[Kind] !== 'Object')) {
      fields.push({
        path,
        type: typeName(schema),
        defaultValue: defaultOf(schema, required),
        bounds: bounds(schema),
        reload: reloadOf(pointer),
        description: schema.description ?? '',
      })
    }
    if (isSecret(schema)) return
    for (const option of (schema.anyOf as TSchema[] | undefined) ?? []) visit(option, path, pointer, false)
    if (schema.type === 'array' && schema.items?.[Kind] === 'Object') visit(schema.items as TSchema, `${path}[]`, pointer, true)
    // A record of objects (keys by their id) gets rows for its values' fields; a record of strings is one field.
    const value = recordValue(schema)
    if (value?.[Kind] === 'Object') visit(value, `${path}.<${schema.keyName as string}>`, `${pointer}/<${schema.keyName as string}>`, true)
    if (schema[Kind] !== 'Object') return
    const requiredNames = (schema.required as string[] | undefined) ?? []
    for (const [name, child] of Object.entries(schema.properties as Record<string, TSchema>)) {
      visit(child, path === '' ? name : `${path}.${name}`, `${pointer}/${name}`, requiredNames.includes(name))
    }
  }
  visit(ConfigSchema, '', '', true)
  // A field written once for several shapes (a union's object option) is listed once.
  return fields.filter((field, i) => fields.findIndex(f => f.path === field.path) === i)
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/** The whole page. */
export function configurationPage (): string {
  const fields = configFields()
  const sections = Object.keys(ConfigSchema.properties)
  const out = [
    '<!-- Generated by `npm run docs` from src/config/schema.ts; do not edit by hand. -->',
    '# Configuration reference',
    '',
    'One JSON file, validated once at startup against `src/config/schema.ts`; every error names the field as a JSON',
    'Pointer, e.g. `/keyStores/0/credentials/1/accessKeyId: Expected string to match \'^[A-Z2-7]{20,30}$\'`. Relative',
    'paths are relative to the configuration file. `config/xksgate.example.json` is a complete example, and',
    '`xksgate config check --config FILE` validates a file exactly as the proxy does at startup.',
    '',
    '- **Secrets** (type `secret`) are a string, `{"env": "VAR"}` or `{"file": "/path"}` (a trailing newline in the',
    '  file is ignored). Prefer files or environment variables. Once resolved, a secret prints as `"[redacted]"`.',
    '- **Overrides**: any field can be set from the environment: `XKSGATE__server__port=9443`,',
    '  `XKSGATE__keyStores__0__keys__foo__disabled=true` (values are parsed as JSON when they parse).',
    '- **`hsm`** is one backend (an object) or a list of them: `hsm[].x` below is a field of each.',
    '- **Reload** (`xksgate reload`, `systemctl reload`, SIGHUP; docs/operations.md, "Reload"): `reload` means any',
    '  reload applies a change to the field, in every layout; `cluster reload` means the cluster primary\'s reload',
    '  applies it (it replaces the serving processes), while one serving process (`cluster.processes` 1, the',
    '  default) refuses it by name and needs a restart; `restart` means every reload refuses it by name.',
    '',
  ]
  for (const section of sections) {
    const rows = fields.filter(f => f.path === section || f.path.startsWith(`${section}.`) || f.path.startsWith(`${section}[]`))
    const head = rows[0]
    out.push(`## \`${section}\``, '', cell(head.description), '',
      '| field | type | default | bounds | reload | description |', '|---|---|---|---|---|---|')
    for (const f of rows.slice(1)) {
      out.push(`| \`${f.path}\` | ${f.type} | ${f.defaultValue} | ${cell(f.bounds)} | ${f.reload} | ${cell(f.description)} |`)
    }
    out.push('')
  }
  return out.join('\n')
}
