/**
 * The pure TLS checks, on certificates made by openssl at test time: the client-subject policy of strict mTLS
 * (src/tls/client-auth.ts) and the served chain's hygiene (src/tls/certificate-health.ts).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { createCa, ensureSelfSignedCert, issueClientCert } from '../../src/dev/tls-cert'
import { EXPIRY_WARNING_DAYS, inspectCertificate } from '../../src/tls/certificate-health'
import { allowedSubjectsMatcher, subjectRefusal } from '../../src/tls/client-auth'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-tls-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const DAY = 86_400_000
const read = (file: string): string => fs.readFileSync(file, 'utf8')
const ca = createCa(path.join(dir, 'ca'), 'test CA')
const der = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')

t.test('allowed subjects: explicit, from the key stores\' regions, or any region', async t => {
  const explicit = allowedSubjectsMatcher(['CKS.kms.us-east-1.amazonaws.com'], [undefined])
  t.ok(explicit.allows('cks.kms.us-east-1.amazonaws.com'), 'explicit names win, compared without case')
  t.notOk(explicit.allows('cks.kms.eu-west-1.amazonaws.com'))
  const regions = allowedSubjectsMatcher(undefined, [['eu-west-1'], ['us-east-2', 'eu-west-1']])
  t.equal(regions.description, 'cks.kms.eu-west-1.amazonaws.com, cks.kms.us-east-2.amazonaws.com')
  t.ok(regions.allows('cks.kms.us-east-2.amazonaws.com'))
  t.notOk(regions.allows('cks.kms.us-east-1.amazonaws.com'), 'a region no key store allows')
  const any = allowedSubjectsMatcher(undefined, [['eu-west-1'], undefined])
  t.ok(any.allows('cks.kms.ap-southeast-2.amazonaws.com'), 'a key store without allowedRegions allows any region')
  for (const name of ['cks.kms.amazonaws.com', 'xcks.kms.us-east-1.amazonaws.com', 'cks.kms.us-east-1.amazonaws.com.evil.com', 'cks.kms.us-east-1.amazonaws.com.cn']) {
    t.notOk(any.allows(name), `not ${name}`)
  }
})

t.test('subject check: the CN and every subjectAltName must be allowed', async t => {
  const ok = 'cks.kms.us-east-1.amazonaws.com'
  const allows = (name: string): boolean => name === ok
  const cert = (name: string, commonName: string, dnsNames?: string[]): Buffer =>
    der(read(issueClientCert(ca, { dir, name, commonName, dnsNames }).certFile))
  t.equal(subjectRefusal(cert('good', ok), allows), undefined)
  t.equal(subjectRefusal(cert('good-cn-only', ok, []), allows), undefined, 'a CN without subjectAltName')
  t.match(subjectRefusal(cert('bad-cn', 'cks.kms.eu-west-1.amazonaws.com', [ok]), allows), /subject CN "cks\.kms\.eu-west-1\.amazonaws\.com"/)
  t.match(subjectRefusal(cert('bad-san', ok, [ok, 'other.example.com']), allows), /subjectAltName DNS:"other\.example\.com"/)
})

t.test('certificate health: a self-signed certificate is its own complete chain', async t => {
  const self = ensureSelfSignedCert(path.join(dir, 'self'))
  const health = inspectCertificate({ certPem: read(self.certFile), keyPem: read(self.keyFile), roots: [] })
  t.same(health.problems, [])
  t.same(health.warnings, [])
  t.same(health.hostnames, ['localhost', '127.0.0.1'])
  t.ok(health.daysToExpiry > 360 && health.daysToExpiry <= 365)
})

t.test('certificate health: leaf then issuer is complete; a leaf alone or out of order is not', async t => {
  const leaf = issueClientCert(ca, { dir, name: 'leaf', commonName: 'proxy.example.com' })
  const [leafPem, caPem, keyPem] = [read(leaf.certFile), read(ca.certFile), read(leaf.keyFile)]
  t.same(inspectCertificate({ certPem: leafPem + caPem, keyPem, roots: [] }).problems, [], 'the root in the file')
  t.same(inspectCertificate({ certPem: leafPem, keyPem, roots: [caPem] }).problems, [], 'the root among the trusted roots')
  t.match(inspectCertificate({ certPem: leafPem, keyPem, roots: [] }).problems, [/chain is incomplete: nothing .* issued CN=proxy\.example\.com \(issuer CN=test CA\)/])
  t.match(inspectCertificate({ certPem: caPem + leafPem, keyPem, roots: [] }).problems.join('\n'), /did not issue the certificate: put the leaf first/)
  t.same(inspectCertificate({ certPem: leafPem + caPem, keyPem: read(ca.keyFile), roots: [] }).problems, ['the private key does not belong to the certificate'])
  t.same(inspectCertificate({ certPem: leafPem + caPem, keyPem: 'nope', roots: [] }).problems, ['the key file holds no unencrypted PEM private key'])
  t.same(inspectCertificate({ certPem: 'nope', roots: [] }).problems, ['the file holds no PEM certificate'])
})

t.test('certificate health: expired refuses, under 30 days warns, not yet valid refuses', async t => {
  const now = Date.now()
  const issue = (name: string, from: number, to: number): string => read(issueClientCert(ca, { dir, name, commonName: 'p', notBefore: new Date(from), notAfter: new Date(to) }).certFile) + read(ca.certFile)
  t.match(inspectCertificate({ certPem: issue('expired', now - 60 * DAY, now - DAY), roots: [] }).problems, [/the certificate expired on /])
  const soon = inspectCertificate({ certPem: issue('soon', now - DAY, now + 10 * DAY), roots: [] })
  t.same(soon.problems, [])
  t.match(soon.warnings, [/expires in (9|10) days .*: replace it/])
  t.ok(soon.daysToExpiry < EXPIRY_WARNING_DAYS)
  t.same(inspectCertificate({ certPem: issue('later', now - DAY, now + 40 * DAY), roots: [] }).warnings, [], '40 days: no warning')
  t.match(inspectCertificate({ certPem: issue('future', now + DAY, now + 40 * DAY), roots: [] }).problems, [/is not valid before /])
})
