/**
 * A self-signed certificate for the embedded default, made with the openssl command line. KMS itself needs a
 * certificate from a public CA (docs/xks-spec.md §2); this one is for local use and the conformance test client only.
 */
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

// Renew when fewer days than this remain, so a long-lived dev directory never serves an expired certificate.
const RENEW_BEFORE_DAYS = 7

export interface CertFiles { certFile: string, keyFile: string }

export function ensureSelfSignedCert (dir: string): CertFiles {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const files = { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') }
  if (fs.existsSync(files.certFile) && fs.existsSync(files.keyFile) && daysLeft(files.certFile) > RENEW_BEFORE_DAYS) return files
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '365',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', files.keyFile, '-out', files.certFile,
  ])
  fs.chmodSync(files.keyFile, 0o600)
  return files
}

function daysLeft (certFile: string): number {
  const cert = new crypto.X509Certificate(fs.readFileSync(certFile))
  return (Date.parse(cert.validTo) - Date.now()) / 86_400_000
}

export interface IssueOptions {
  /** Where the key and certificate go, as NAME_key.pem and NAME_cert.pem (the official test client's naming). */
  dir: string
  name: string
  commonName: string
  /** DNS subjectAltNames; default: the common name. */
  dnsNames?: string[]
  /** Validity; default: from now for `days` (default 365). Dates let tests make an expired certificate. */
  notBefore?: Date
  notAfter?: Date
  days?: number
}

/**
 * A private CA for client certificates (`npm run dev -- --mtls`, the mTLS tests): with its key, any number of
 * client certificates can be minted for tests and tools.
 */
export function createCa (dir: string, commonName: string): CertFiles {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const files = { certFile: path.join(dir, 'ca_cert.pem'), keyFile: path.join(dir, 'ca_key.pem') }
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650',
    '-subj', `/CN=${commonName}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', files.keyFile, '-out', files.certFile])
  fs.chmodSync(files.keyFile, 0o600)
  return files
}

/** A client certificate (extendedKeyUsage clientAuth) issued by `ca`, through `openssl ca` for arbitrary dates. */
export function issueClientCert (ca: CertFiles, options: IssueOptions): CertFiles {
  const { dir, name, commonName } = options
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const work = fs.mkdtempSync(path.join(dir, `.${name}-`))
  const files = { certFile: path.join(dir, `${name}_cert.pem`), keyFile: path.join(dir, `${name}_key.pem`) }
  const csr = path.join(work, 'req.csr')
  try {
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${commonName}`,
      '-keyout', files.keyFile, '-out', csr])
    const sans = (options.dnsNames ?? [commonName]).map(n => `DNS:${n}`).join(',')
    fs.writeFileSync(path.join(work, 'ca.cnf'), [
      '[ca]', 'default_ca = local', '[local]', `database = ${path.join(work, 'index.txt')}`, `new_certs_dir = ${work}`,
      'rand_serial = yes', 'default_md = sha256', 'policy = any', 'unique_subject = no', '[any]', 'commonName = supplied',
      '[client]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = clientAuth', ...(sans === '' ? [] : [`subjectAltName = ${sans}`]), '',
    ].join('\n'))
    fs.writeFileSync(path.join(work, 'index.txt'), '')
    const notBefore = options.notBefore ?? new Date()
    const notAfter = options.notAfter ?? new Date(notBefore.getTime() + (options.days ?? 365) * 86_400_000)
    openssl(['ca', '-batch', '-notext', '-config', path.join(work, 'ca.cnf'), '-extensions', 'client', '-cert', ca.certFile,
      '-keyfile', ca.keyFile, '-in', csr, '-out', files.certFile, '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter)])
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
  fs.chmodSync(files.keyFile, 0o600)
  return files
}

/** YYYYMMDDHHMMSSZ, as openssl ca's -startdate and -enddate take it. */
function asn1Time (date: Date): string {
  return date.toISOString().replace(/[-:T]|\.\d{3}/g, '')
}

function openssl (args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' })
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
    throw new Error(missing
      ? 'openssl is not installed. Install it with: sudo apt-get install -y openssl'
      : `openssl ${args[0]} failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`)
  }
}
