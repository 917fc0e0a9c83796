/**
 * Everything the operator commands do on an HSM, as jobs for the child process of src/cli/hsm-job.ts: each takes
 * the configuration (loaded in the child, secrets included) and a plain input, and returns a plain result.
 */
import type { XksgateConfig } from '../config/schema'
import { ConfigError } from '../config/load'
import { hsmChecks } from './doctor/hsm-checks'
import { configuredToken, withToken, type TokenKey } from './token'

/** Which backend (`--hsm NAME`; default the first). */
export interface OnBackend { backend?: string }

export const HSM_JOBS = {
  /** The doctor's HSM lines for every backend. */
  doctorChecks: (config: XksgateConfig, _input: Record<string, never>) => hsmChecks(config),

  secretKeys: (config: XksgateConfig, { backend }: OnBackend): TokenKey[] => withToken(configuredToken(config, backend), token => token.secretKeys()),

  /** The secret keys with each label: normally none or one. */
  keysLabelled: (config: XksgateConfig, { backend, labels }: OnBackend & { labels: string[] }): Record<string, TokenKey[]> =>
    withToken(configuredToken(config, backend), token => Object.fromEntries(labels.map(label => [label, token.keysLabelled(label)]))),

  /** Generates the key unless the token already has one with the label; the CKA_ID of the new key. */
  generateUnlessTaken: (config: XksgateConfig, { backend, label, usage }: OnBackend & { label: string, usage: readonly string[] }): { id: string, unmodifiable: boolean } => {
    const login = configuredToken(config, backend)
    return withToken(login, token => {
      if (token.keysLabelled(label).length > 0) {
        throw new ConfigError([`the token ${JSON.stringify(login.tokenLabel)} already has a secret key labelled ${JSON.stringify(label)}; choose another with --label`])
      }
      const generated = token.generate({ label, encrypt: usage.includes('ENCRYPT'), decrypt: usage.includes('DECRYPT') })
      const [key] = token.keysLabelled(label)
      return { id: key.id, unmodifiable: generated.unmodifiable }
    })
  },
}

export type HsmJobs = typeof HSM_JOBS
