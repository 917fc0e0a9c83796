/**
 * The versions of one configured external key: `label` at `version` (default 1) encrypts; each of
 * `decryptOnlyVersions` only decrypts what ciphertextMetadata says it encrypted (docs/ciphertext-metadata.md).
 */
import type { RawConfig } from './schema'

export type ConfiguredKey = RawConfig['keyStores'][number]['keys'][string]

export interface ConfiguredKeyVersion {
  version: number
  label: string
  /** True for the one version Encrypt uses. */
  encrypts: boolean
  /** Where it is in the configuration, relative to the key: '/label' or '/decryptOnlyVersions/N/label'. */
  field: string
}

export function keyVersions (key: ConfiguredKey): ConfiguredKeyVersion[] {
  return [
    { version: key.version ?? 1, label: key.label, encrypts: true, field: '/label' },
    ...(key.decryptOnlyVersions ?? []).map((v, i) => ({ version: v.version, label: v.label, encrypts: false, field: `/decryptOnlyVersions/${i}/label` })),
  ]
}

/** A version number or a label used twice within one key: Decrypt could not tell which key to use. */
export function keyVersionProblems (key: ConfiguredKey, keyField: string): string[] {
  const problems: string[] = []
  const versions = new Set<number>()
  const labels = new Set<string>()
  for (const v of keyVersions(key)) {
    const field = keyField + v.field.replace(/\/label$/, '')
    if (versions.has(v.version)) problems.push(`${field}: version ${v.version} is listed twice for this key`)
    if (labels.has(v.label)) problems.push(`${field}: the label ${JSON.stringify(v.label)} is another version of this key too`)
    versions.add(v.version)
    labels.add(v.label)
  }
  return problems
}
