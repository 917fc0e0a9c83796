/**
 * Resolves a secret reference — inline, {"env": "VAR"} or {"file": "/path"} — and holds every secret to the same
 * rules whatever its source. Every command that reads the configuration (the start, a reload, `config check`,
 * the doctor) goes through loadConfig and so through here: a secret cannot pass one of them and fail another.
 *
 * Common to every secret: the value is not empty and not only white space. An empty file used to pass while an
 * empty variable did not, and the checks of each kind below were skipped for '' — so a SigV4 secret of '' signed
 * requests that KMS could never have sent, and an audit chain MACed with '' verified records anyone could write.
 * Messages name the field and the source (a file's path, a variable's name), never the value.
 */
import path from 'node:path'
import { readRegularFile } from './read-regular-file'
import type { SecretRefValue } from './schema'
import { Secret } from './secret'

/** A rule of one kind of secret: undefined when the value fits, else what is wrong (without the value). */
export type SecretRule = (value: string) => string | undefined

// KMS's RawSecretAccessKey rule (docs/xks-spec.md §8.1); KMS will not accept any other secret, so neither do we.
const SIGV4_SECRET_PATTERN = /^[A-Za-z0-9/+=]{43,64}$/
/** An HMAC key shorter than SHA-256's output would be the weakest link of the chain. */
const MIN_AUDIT_KEY_CHARS = 32

export const SECRET_RULES = {
  sigv4SecretAccessKey: (value: string) => SIGV4_SECRET_PATTERN.test(value) ? undefined : 'must be 43 to 64 characters of A-Z a-z 0-9 / + =',
  auditKey: (value: string) => value.length >= MIN_AUDIT_KEY_CHARS ? undefined : `must be at least ${MIN_AUDIT_KEY_CHARS} characters (has ${value.length})`,
  /**
   * The user PIN: non-empty (the common rule), otherwise the token's to judge at C_Login, whose refusal names the
   * field. Some tokens do work without a PIN: PKCS #11 v2.40 §5.6 (C_Login) has a token with a protected
   * authentication path take pPin = NULL_PTR and authenticate on the device (a PIN pad, a card set, a wrapper such
   * as nShield's preload), and a token without CKF_LOGIN_REQUIRED needs no login at all (NSS's softokn, tpm2-pkcs11
   * with an empty user PIN). xksgate always logs in with the PIN it is given (pkcs11js passes a pointer and its
   * length, never NULL_PTR), so it cannot drive those modes, and SoftHSM refuses a PIN under 4 characters. An
   * empty PIN here is an empty or truncated file, or a variable set to '': refused, naming the field.
   */
  pin: () => undefined,
  /** Redis AUTH: any non-empty password; Redis itself refuses a wrong one, and the doctor's PING shows it. */
  redisPassword: () => undefined,
} satisfies Record<string, SecretRule>

/**
 * The secret, or an empty Secret with a problem recorded (the configuration is then refused as a whole).
 * `rule` is the kind's own check, applied once the value is known to be non-empty.
 */
export function resolveSecret (ref: SecretRefValue, field: string, rule: SecretRule, where: { baseDir: string, env: NodeJS.ProcessEnv }, problems: string[]): Secret {
  const resolved = readSecret(ref, where)
  if ('problem' in resolved) {
    problems.push(`${field}: ${resolved.problem}`)
    return new Secret('')
  }
  const { value, source } = resolved
  const problem = value === ''
    ? `${source} is empty`
    : value.trim() === '' ? `${source} holds only white space` : rule(value)
  if (problem !== undefined) problems.push(`${field}: ${problem}`)
  return new Secret(problem === undefined ? value : '')
}

type Resolved = { value: string, source: string } | { problem: string }

function readSecret (ref: SecretRefValue, { baseDir, env }: { baseDir: string, env: NodeJS.ProcessEnv }): Resolved {
  if (typeof ref === 'string') return { value: ref, source: 'the inline value' }
  if ('env' in ref) {
    const value = env[ref.env]
    return value === undefined ? { problem: `environment variable ${ref.env} is not set` } : { value, source: `environment variable ${ref.env}` }
  }
  const file = path.resolve(baseDir, ref.file)
  const read = readRegularFile(file)
  // Secret files conventionally end with a newline (echo, Kubernetes secrets); it is never part of the secret.
  return typeof read === 'string' ? { value: read.replace(/\r?\n$/, ''), source: file } : { problem: `cannot read ${file}: ${read.problem}` }
}
