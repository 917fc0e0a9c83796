/**
 * SoftHSM provisioning for the embedded default and for tests: a token directory of our own, the token, and
 * AES-256 keys. Idempotent: a second call with the same arguments creates nothing.
 *
 * Everything goes through PKCS#11 (C_InitToken, C_InitPIN, C_GenerateKey) in a child process that reads the PINs
 * on stdin. softhsm2-util is not used: it takes PINs only as arguments, readable by anyone in `ps`, or from a
 * terminal (it ignores a piped stdin).
 */
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

export interface SoftHsmKeySpec {
  label: string
  encrypt: boolean
  decrypt: boolean
  /**
   * Import this AES-256 value instead of generating one: how two SoftHSM tokens get the same key, to stand in for
   * HSMs that replicate their keys (an HA group). It reaches the setup process on stdin, never a file or argv.
   */
  value?: Buffer
}

export interface ProvisionSoftHsmOptions {
  /** Holds softhsm2.conf and tokens/. Created if missing. */
  dir: string
  tokenLabel: string
  soPin: string
  pin: string
  keys: SoftHsmKeySpec[]
  /** Default: the first of the usual install locations that exists. */
  modulePath?: string
}

export interface ProvisionedSoftHsm {
  confPath: string
  modulePath: string
  /** Whether this call initialised the token (false when it existed). */
  createdToken: boolean
  /** Labels of the keys this call generated (empty when everything existed). */
  createdKeys: string[]
}

export const SOFTHSM_MISSING = 'softhsm2 is not installed. Install it with: sudo apt-get install -y softhsm2'

const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so', // Debian, Ubuntu
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so', // RHEL, Fedora
  '/usr/local/lib/softhsm/libsofthsm2.so', // built from source
]

/** The setup runs in a child process, so this process never initialises the library itself. */
const SETUP_CHILD = path.join(__dirname, 'softhsm-keygen.js')

export async function provisionSoftHsm (options: ProvisionSoftHsmOptions): Promise<ProvisionedSoftHsm> {
  const candidates = options.modulePath === undefined ? MODULE_CANDIDATES : [options.modulePath]
  const modulePath = candidates.find(p => fs.existsSync(p))
  if (modulePath === undefined) throw new Error(`${SOFTHSM_MISSING} (no SoftHSM library at ${candidates.join(', ')})`)
  const tokenDir = path.join(options.dir, 'tokens')
  fs.mkdirSync(tokenDir, { recursive: true, mode: 0o700 })
  const confPath = path.join(options.dir, 'softhsm2.conf')
  const conf = `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`
  if (!fs.existsSync(confPath) || fs.readFileSync(confPath, 'utf8') !== conf) fs.writeFileSync(confPath, conf)
  // SoftHSM reads SOFTHSM2_CONF from the C environment at C_Initialize. Node's process.env setter calls setenv,
  // and worker threads share the process environment, so this must happen before any thread loads the module.
  process.env.SOFTHSM2_CONF = confPath
  const { createdToken, createdKeys } = await runSetup({ ...options, modulePath })
  return { confPath, modulePath, createdToken, createdKeys }
}

export interface SoftHsmGroupOptions extends Omit<ProvisionSoftHsmOptions, 'tokenLabel'> {
  tokenLabels: string[]
}

/**
 * Several tokens in one SoftHSM directory (one SOFTHSM2_CONF per process) holding the same keys, standing in for
 * HSMs that replicate their keys (an HA group). A shortcut for development and tests only: each key's value is
 * drawn here, in memory, imported into every token (C_CreateObject, through the setup process's stdin) and then
 * zeroed; it is never written anywhere. A real HSM group replicates its keys itself, or wraps them from one
 * member to another, without the proxy ever seeing them. The tokens are made together or not at all: tokens made
 * apart would hold different keys.
 */
export async function provisionSoftHsmGroup (options: SoftHsmGroupOptions): Promise<ProvisionedSoftHsm & { tokenLabels: string[] }> {
  const { tokenLabels, keys: specs, ...rest } = options
  const tokenDir = path.join(options.dir, 'tokens')
  const existing = fs.existsSync(tokenDir) ? fs.readdirSync(tokenDir).length : 0
  if (existing !== 0 && existing !== tokenLabels.length) {
    throw new Error(`${tokenDir} holds ${existing} token(s), not ${tokenLabels.length}: remove ${options.dir} to provision them together with the same keys`)
  }
  const keys = specs.map(key => ({ ...key, value: crypto.randomBytes(32) }))
  try {
    let last: ProvisionedSoftHsm | undefined
    const createdKeys: string[] = []
    for (const tokenLabel of tokenLabels) {
      last = await provisionSoftHsm({ ...rest, tokenLabel, keys })
      createdKeys.push(...last.createdKeys)
    }
    return { ...(last as ProvisionedSoftHsm), createdKeys, tokenLabels }
  } finally {
    for (const key of keys) key.value.fill(0)
  }
}

export interface SoftHsmSetupRequest {
  modulePath: string
  tokenLabel: string
  soPin: string
  pin: string
  /** `value` travels as base64 in the JSON on stdin. */
  keys: Array<Omit<SoftHsmKeySpec, 'value'> & { value?: string }>
}

interface SetupInput extends Omit<SoftHsmSetupRequest, 'keys'> {
  keys: SoftHsmKeySpec[]
}

export interface SoftHsmSetupResult {
  createdToken: boolean
  createdKeys: string[]
}

/** Runs softhsm-keygen.js with the request, PINs included, on stdin. */
function runSetup (req: SetupInput): Promise<SoftHsmSetupResult> {
  const { modulePath, tokenLabel, soPin, pin, keys } = req
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SETUP_CHILD], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', code => {
      if (code !== 0) reject(new Error(`SoftHSM setup failed: ${stderr.trim() || `exit code ${code}`}`))
      else resolve(JSON.parse(stdout) as SoftHsmSetupResult)
    })
    const wire = keys.map(({ value, ...key }) => value === undefined ? key : { ...key, value: value.toString('base64') })
    child.stdin.end(JSON.stringify({ modulePath, tokenLabel, soPin, pin, keys: wire } satisfies SoftHsmSetupRequest))
  })
}
