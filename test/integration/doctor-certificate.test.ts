import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { rootCertificates } from 'node:tls'
import t from 'tap'
import { certificateChecks } from '../../src/cli/doctor/certificate'

// A root, an intermediate and a leaf for xks.example.com, made with openssl as an operator's CA would.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-certs-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const file = (name: string): string => path.join(dir, name)
const openssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }) }
const ext = (name: string, text: string): string => { fs.writeFileSync(file(name), text); return file(name) }

openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('root.key'), '-out', file('root.pem'), '-days', '30', '-subj', '/CN=Test Root')
const caExt = ext('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n')
openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('int.key'), '-out', file('int.csr'), '-subj', '/CN=Test Intermediate')
openssl('x509', '-req', '-in', file('int.csr'), '-CA', file('root.pem'), '-CAkey', file('root.key'), '-CAcreateserial', '-out', file('int.pem'), '-days', '30', '-extfile', caExt)
const leafExt = ext('leaf.ext', 'subjectAltName=DNS:xks.example.com\n')
openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('leaf.key'), '-out', file('leaf.csr'), '-subj', '/CN=xks.example.com')
openssl('x509', '-req', '-in', file('leaf.csr'), '-CA', file('int.pem'), '-CAkey', file('int.key'), '-CAcreateserial', '-out', file('leaf.pem'), '-days', '10', '-extfile', leafExt)
const pem = (name: string): string => fs.readFileSync(file(name), 'utf8')
const chainFile = (name: string, ...parts: string[]): string => { fs.writeFileSync(file(name), parts.map(pem).join('')); return file(name) }

const byName = (certFile: string, keyFile = file('leaf.key'), hostname?: string, now?: number): Map<string, { status: string, detail: string }> =>
  new Map(certificateChecks({ certFile, keyFile }, hostname, now).map(c => [c.name, c]))

t.test('leaf, intermediate and root in order: complete up to a root that is not public (warn), host name, expiry', async t => {
  const checks = byName(chainFile('full.pem', 'leaf.pem', 'int.pem', 'root.pem'), file('leaf.key'), 'xks.example.com')
  t.same(checks.get('certificate chain'), { name: 'certificate chain', status: 'warn', detail: 'ends at CN=Test Root, which is not a public root KMS trusts' })
  t.match(checks.get('certificate key'), { status: 'ok' })
  t.match(checks.get('certificate host name'), { status: 'ok', detail: 'covers xks.example.com' })
  t.match(checks.get('certificate validity'), { status: 'warn', detail: /^\d days to expiry/ }, 'under 30 days is a warning')
})

t.test('a missing intermediate, a wrong order and a key of another certificate fail', async t => {
  t.match(byName(chainFile('leaf-only.pem', 'leaf.pem')).get('certificate chain'), { status: 'fail', detail: /^incomplete: nothing in the file or among the public roots issued CN=xks\.example\.com; append the intermediates/ })
  t.match(byName(chainFile('swapped.pem', 'int.pem', 'leaf.pem')).get('certificate chain'), { status: 'fail', detail: /^certificate 1 \(CN=xks\.example\.com\) did not issue the one before it/ })
  t.match(byName(chainFile('full2.pem', 'leaf.pem', 'int.pem'), file('int.key')).get('certificate key'), { status: 'fail', detail: /does not belong to the certificate/ })
  t.match(byName(file('leaf.pem'), file('nope.key')).get('certificate key'), { status: 'fail', detail: /ENOENT/ })
  t.match(byName(file('leaf.pem'), file('leaf.pem')).get('certificate key'), { status: 'fail', detail: /leaf\.pem holds no unencrypted PEM private key$/ })
})

t.test('expired, not yet valid, another host name, no certificate at all', async t => {
  const full = chainFile('full3.pem', 'leaf.pem', 'int.pem')
  const day = 86_400_000
  t.match(byName(full, undefined, undefined, Date.now() + 40 * day).get('certificate validity'), { status: 'fail', detail: /^the certificate expired on / })
  t.match(byName(full, undefined, undefined, Date.now() - day).get('certificate validity'), { status: 'fail', detail: /^the certificate is not valid before .*; chain certificate 1 \(CN=Test Intermediate\) is not valid before / })
  t.match(byName(full, undefined, 'other.example.com').get('certificate host name'), { status: 'fail', detail: 'does not cover other.example.com; it names DNS:xks.example.com' })
  t.match(byName(full).get('certificate host name'), { status: 'unknown', detail: 'not checked (give --hostname); it names DNS:xks.example.com' })
  fs.writeFileSync(file('empty.pem'), 'nothing here\n')
  t.same(certificateChecks({ certFile: file('empty.pem'), keyFile: file('leaf.key') }, undefined), [{ name: 'certificate', status: 'fail', detail: `${file('empty.pem')} holds no PEM certificate` }])
  fs.writeFileSync(file('garbled.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
  t.same(certificateChecks({ certFile: file('garbled.pem'), keyFile: file('leaf.key') }, undefined), [{ name: 'certificate', status: 'fail', detail: `${file('garbled.pem')}: certificate 0 of the file cannot be parsed` }])
  t.match(certificateChecks({ certFile: file('missing.pem'), keyFile: file('leaf.key') }, undefined), [{ name: 'certificate', status: 'fail', detail: /ENOENT/ }])
})

t.test('a chain that reaches one of the public roots is complete', async t => {
  // A public root stands in for the top of a real chain: the check finds its issuer among the public roots.
  fs.writeFileSync(file('public.pem'), rootCertificates[0])
  t.match(byName(file('public.pem')).get('certificate chain'), { status: 'ok', detail: /^1 certificate\(s\), up to the public root / })
})
