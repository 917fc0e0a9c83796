/**
 * GetKeyMetadata (docs/xks-spec.md §5.1): the official test client's 8 cases with exact values — keySpec
 * AES_256 (the client accepts any keySpec, even RSA_0), keyUsage exactly what the key allows, keyStatus ENABLED —
 * and the usage reported for the single-usage keys.
 */
import { EMPTY_METADATA, metadataBody } from './bodies'
import { check, checkError, checkSuccess } from './check'
import { credentialAndPrefixCases } from './credential-cases'
import type { KeyRoles } from './target'
import type { SelftestCase, SelftestContext } from './suite'

async function checkMetadata (ctx: SelftestContext, role: keyof KeyRoles, kmsOperation: string, usage: readonly string[]): Promise<void> {
  const res = await ctx.client.send({ path: ctx.keyPath(ctx.key(role), 'metadata'), body: metadataBody(kmsOperation) })
  checkSuccess(res, ['keySpec', 'keyUsage', 'keyStatus'])
  check(res.json.keySpec === 'AES_256', `keySpec is ${JSON.stringify(res.json.keySpec)}, not "AES_256"`)
  const got = res.json.keyUsage
  check(Array.isArray(got) && got.length <= 10, 'keyUsage is not an array of at most 10 entries')
  check([...(got as unknown[])].sort().join() === [...usage].sort().join(), `keyUsage is ${JSON.stringify(got)}, expected ${JSON.stringify(usage)}`)
  check(res.json.keyStatus === 'ENABLED', `keyStatus is ${JSON.stringify(res.json.keyStatus)}, not "ENABLED"`)
}

const path = (ctx: SelftestContext): string => ctx.keyPath(ctx.key('encryptDecrypt'), 'metadata')

export const metadataCases: SelftestCase[] = [
  { name: 'GetKeyMetadata for DescribeKey', run: async ctx => await checkMetadata(ctx, 'encryptDecrypt', 'DescribeKey', ['ENCRYPT', 'DECRYPT']) },
  { name: 'GetKeyMetadata for CreateKey', run: async ctx => await checkMetadata(ctx, 'encryptDecrypt', 'CreateKey', ['ENCRYPT', 'DECRYPT']) },
  {
    name: 'GetKeyMetadata without requestMetadata → 400 ValidationException',
    run: async ctx => checkError(await ctx.client.send({ path: path(ctx), body: '{}' }), 400, 'ValidationException'),
  },
  {
    name: 'GetKeyMetadata with empty requestMetadata → 400 ValidationException',
    run: async ctx => checkError(await ctx.client.send({ path: path(ctx), body: EMPTY_METADATA }), 400, 'ValidationException'),
  },
  {
    name: 'GetKeyMetadata for a non-existent key → 404 KeyNotFoundException',
    run: async ctx => checkError(await ctx.client.send({ path: ctx.keyPath('non_existing_key', 'metadata'), body: metadataBody() }), 404, 'KeyNotFoundException'),
  },
  ...credentialAndPrefixCases('GetKeyMetadata', ctx => ({ path: path(ctx), body: metadataBody() })),
  { name: 'GetKeyMetadata of the encrypt-only key: keyUsage ENCRYPT', run: async ctx => await checkMetadata(ctx, 'encryptOnly', 'DescribeKey', ['ENCRYPT']) },
  { name: 'GetKeyMetadata of the decrypt-only key: keyUsage DECRYPT', run: async ctx => await checkMetadata(ctx, 'decryptOnly', 'DescribeKey', ['DECRYPT']) },
]
