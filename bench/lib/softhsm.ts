import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/** A private SoftHSM token for the raw-HSM baseline, in its own token directory. */

export const SOFTHSM_LIB = '/usr/lib/softhsm/libsofthsm2.so'

export interface Token {
  /** The value for SOFTHSM2_CONF. */
  conf: string
  label: string
  pin: string
}

export function provisionToken (dir: string): Token {
  const tokens = path.join(dir, 'tokens')
  fs.mkdirSync(tokens, { recursive: true })
  const conf = path.join(dir, 'softhsm2.conf')
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`)
  const token = { conf, label: 'bench', pin: '1234' }
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', token.label, '--so-pin', '5678',
    '--pin', token.pin], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'ignore' })
  return token
}
