/**
 * Stage rows for admission and secondary authorization: the token bucket alone, the whole admission step an
 * Encrypt passes (quota, lateness, in-flight limit, HSM backlog estimate from the real pool's stats), and a
 * policy decision by each shipped policy file, on the request that walks every statement before it is allowed.
 */
import fs from 'node:fs'
import path from 'node:path'
import { compilePolicy } from '../../src/policy/compile'
import { CompiledPolicy } from '../../src/policy/policy'
import { Admission } from '../../src/xks/admission'
import { HsmBacklog, type BacklogStats } from '../../src/xks/hsm-backlog'
import { TokenBucket } from '../../src/xks/quota'
import type { RequestMetadata } from '../../src/xks/validate-metadata'
import { repoRoot } from '../../test/helpers/paths'
import { perCall } from './cpu'
import type { StageCost } from './in-process'

const CALLS = 200_000

function policyFrom (file: string, keyIds: string[]): CompiledPolicy {
  const compiled = compilePolicy(JSON.parse(fs.readFileSync(path.join(repoRoot, 'config/policies', file), 'utf8')), { keyIds })
  if ('problems' in compiled) throw new Error(compiled.problems.join('; '))
  return new CompiledPolicy(compiled.statements)
}

export function authorizationStages (stats: () => BacklogStats): StageCost[] {
  const costs: StageCost[] = []
  const bucket = new TokenBucket(1e9, 1e9)
  costs.push({ stage: 'quota check', us: perCall(() => bucket.take(performance.now()), CALLS), how: 'TokenBucket.take (refill and take one token)' })

  const admission = new Admission({ maxInFlight: 256, requestTimeoutMs: 240, hsmTimeoutMs: 200, backlog: new HsmBacklog(stats) })
  const store = { quota: new TokenBucket(1e9, 1e9) }
  costs.push({
    stage: 'admission (quota, lateness, in-flight, HSM backlog)',
    us: perCall(() => { admission.admit(store, 'encrypt', 239); admission.leave() }, CALLS),
    how: 'Admission.admit + leave of an Encrypt, with a quota and the backlog estimate over Pkcs11Pool.stats()',
  })

  const example = policyFrom('example.json', ['foo'])
  const appRequest: RequestMetadata = {
    kmsRequestId: 'c4b0fd83-0a6f-4b5b-9d6b-3f1f0e4f4d2a', kmsOperation: 'Encrypt', awsPrincipalArn: 'arn:aws:iam::111122223333:role/ledger-batch',
    kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', kmsViaService: 'ebs', awsSourceVpce: 'vpce-0a1b2c3d4e5f67890',
  }
  costs.push({
    stage: 'policy decision (example.json)',
    us: perCall(() => example.decide('encrypt', 'foo', 'eu-west-1', appRequest), CALLS),
    how: 'CompiledPolicy.decide of an Encrypt allowed by the second statement (both checked, every condition)',
  })
  const testClient = policyFrom('test-client.json', ['foo', 'encrypt_only_key', 'decrypt_only_key', 'impotent_key'])
  const aliceDecrypt: RequestMetadata = {
    kmsRequestId: 'c4b0fd83-0a6f-4b5b-9d6b-3f1f0e4f4d2a', kmsOperation: 'Decrypt', awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice',
    kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab', kmsViaService: 'ebs',
  }
  costs.push({
    stage: 'policy decision (test-client.json)',
    us: perCall(() => testClient.decide('decrypt', 'encrypt_only_key', 'us-east-1', aliceDecrypt), CALLS),
    how: 'CompiledPolicy.decide of a Decrypt allowed by the third of three statements',
  })
  return costs
}
