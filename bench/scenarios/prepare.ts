import { callOnce } from '../lib/connection-info'
import { buildTemplates, Ciphertext, encryptTemplate, Template } from '../loadgen/templates'
import type { Credentials } from '../sign'

/** Pre-encrypts the Decrypt ciphertexts through the proxy, then checks every template is answered 200 once. */
export async function prepareTemplates (port: number, creds: Credentials, uriPrefix: string, keyId: string, address?: string): Promise<Template[]> {
  const cts: Ciphertext[] = []
  for (let i = 0; i < 4; i++) {
    const r = await callOnce(port, creds, encryptTemplate(uriPrefix, keyId), address)
    if (r.status !== 200) throw new Error(`pre-encrypt answered ${r.status}: ${r.body}`)
    const { ciphertext, initializationVector, authenticationTag, ciphertextMetadata } = JSON.parse(r.body)
    cts.push({ ciphertext, initializationVector, authenticationTag, ...(ciphertextMetadata ? { ciphertextMetadata } : {}) })
  }
  const templates = buildTemplates(uriPrefix, keyId, cts)
  for (const t of templates) {
    const r = await callOnce(port, creds, t, address)
    if (r.status !== 200) throw new Error(`${t.op} answered ${r.status}: ${r.body}`)
  }
  return templates
}
