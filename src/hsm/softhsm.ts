/**
 * SoftHSM provisioning for the embedded default and for tests: a token directory of our own, the token, and
 * AES-256 keys. Idempotent: a second call with the same arguments creates nothing.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

export interface SoftHsmKeySpec {
  label: string
  encrypt: boolean
  decrypt: boolean
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

/** The key generator runs in a child process, so this process never initialises the library itself. */
const KEYGEN = path.join(__dirname, 'softhsm-keygen.js')

export async function provisionSoftHsm (options: ProvisionSoftHsmOptions): Promise<ProvisionedSoftHsm> {
  const modulePath = options.modulePath ?? MODULE_CANDIDATES.find(p => fs.existsSync(p))
  if (modulePath === undefined || !fs.existsSync(modulePath) || !hasSoftHsmUtil()) throw new Error(SOFTHSM_MISSING)
  const tokenDir = path.join(options.dir, 'tokens')
  fs.mkdirSync(tokenDir, { recursive: true, mode: 0o700 })
  const confPath = path.join(options.dir, 'softhsm2.conf')
  const conf = `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`
  if (!fs.existsSync(confPath) || fs.readFileSync(confPath, 'utf8') !== conf) fs.writeFileSync(confPath, conf)
  // SoftHSM reads SOFTHSM2_CONF from the C environment at C_Initialize. Node's process.env setter calls setenv,
  // and worker threads share the process environment, so this must happen before any thread loads the module.
  process.env.SOFTHSM2_CONF = confPath
  if (!tokenExists(options.tokenLabel)) {
    // softhsm2-util takes the PINs only as arguments (or from a terminal); the process lives for milliseconds.
    run('softhsm2-util', ['--init-token', '--free', '--label', options.tokenLabel,
      '--so-pin', options.soPin, '--pin', options.pin])
  }
  const createdKeys = await generateKeys({ modulePath, tokenLabel: options.tokenLabel, pin: options.pin, keys: options.keys })
  return { confPath, modulePath, createdKeys }
}

function hasSoftHsmUtil (): boolean {
  return spawnSync('softhsm2-util', ['--version'], { stdio: 'ignore' }).error === undefined
}

/** Token labels as `softhsm2-util --show-slots` prints them (reads SOFTHSM2_CONF like the library). */
function tokenExists (label: string): boolean {
  const out = run('softhsm2-util', ['--show-slots'])
  return out.split('\n').some(line => /^\s*Label:/.test(line) && line.replace(/^\s*Label:/, '').trim() === label)
}

function run (cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.error !== undefined) throw new Error(SOFTHSM_MISSING)
  // Report the subcommand only: the arguments carry PINs.
  if (r.status !== 0) throw new Error(`${cmd} ${args[0]} failed: ${(r.stderr || r.stdout).trim()}`)
  return r.stdout
}

export interface KeygenRequest {
  modulePath: string
  tokenLabel: string
  pin: string
  keys: SoftHsmKeySpec[]
}

/** Runs softhsm-keygen.js with the request on stdin (a PIN in argv would show in `ps`). */
function generateKeys (req: KeygenRequest): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEYGEN], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', code => {
      if (code !== 0) reject(new Error(`SoftHSM key generation failed: ${stderr.trim() || `exit code ${code}`}`))
      else resolve((JSON.parse(stdout) as { created: string[] }).created)
    })
    child.stdin.end(JSON.stringify(req))
  })
}
