/**
 * GetHealthStatus (docs/xks-spec.md §5.4): the official test client's 6 cases, each field checked exactly, and
 * two more: signed the way KMS signs (host;x-amz-date, docs/xks-spec.md §8.2), and GET on the URI → 405 (§2).
 */
import { EMPTY_METADATA, healthBody } from './bodies'
import { check, checkError, checkSuccess } from './check'
import type { XksReply } from './client'
import { credentialAndPrefixCases } from './credential-cases'
import type { SelftestCase } from './suite'

const HEALTH_FIELDS = ['xksProxyFleetSize', 'xksProxyVendor', 'xksProxyModel', 'ekmVendor', 'ekmFleetDetails']
const EKM_STATES = ['ACTIVE', 'DEGRADED', 'UNAVAILABLE']

function checkHealth (res: XksReply): string {
  checkSuccess(res, HEALTH_FIELDS)
  const { xksProxyFleetSize: size, ekmFleetDetails: details } = res.json
  check(Number.isInteger(size) && Number(size) > 0, `xksProxyFleetSize is ${JSON.stringify(size)}, not an integer > 0`)
  for (const field of ['xksProxyVendor', 'xksProxyModel', 'ekmVendor']) {
    check(typeof res.json[field] === 'string' && res.json[field] !== '', `${field} is not a non-empty string`)
  }
  check(Array.isArray(details) && details.length >= 1 && details.length <= 10, 'ekmFleetDetails is not an array of 1 to 10 entries')
  const entries = details as Array<Record<string, unknown>>
  for (const entry of entries) {
    check(Object.keys(entry).sort().join() === 'healthStatus,id,model', `an ekmFleetDetails entry has the fields ${Object.keys(entry).join(', ')}`)
    check(typeof entry.id === 'string' && typeof entry.model === 'string', 'an ekmFleetDetails id or model is not a string')
    check(EKM_STATES.includes(String(entry.healthStatus)), `healthStatus ${JSON.stringify(entry.healthStatus)} is not ACTIVE, DEGRADED or UNAVAILABLE`)
  }
  check(new Set(entries.map(e => e.id)).size === entries.length, 'ekmFleetDetails ids are not unique')
  return entries.map(e => `${String(e.id)}: ${String(e.healthStatus)}`).join(', ')
}

export const healthCases: SelftestCase[] = [
  { name: 'GetHealthStatus', run: async ctx => checkHealth(await ctx.client.send({ path: ctx.healthPath, body: healthBody() })) },
  {
    name: 'GetHealthStatus signed like KMS (SignedHeaders host;x-amz-date)',
    run: async ctx => checkHealth(await ctx.client.send({ path: ctx.healthPath, body: healthBody(), kmsStyle: true })),
  },
  {
    name: 'GetHealthStatus without requestMetadata → 400 ValidationException',
    run: async ctx => checkError(await ctx.client.send({ path: ctx.healthPath, body: '{}' }), 400, 'ValidationException'),
  },
  {
    name: 'GetHealthStatus with empty requestMetadata → 400 ValidationException',
    run: async ctx => checkError(await ctx.client.send({ path: ctx.healthPath, body: EMPTY_METADATA }), 400, 'ValidationException'),
  },
  ...credentialAndPrefixCases('GetHealthStatus', ctx => ({ path: ctx.healthPath, body: healthBody() })),
  {
    name: 'GET on the GetHealthStatus URI → 405',
    run: async ctx => {
      const res = await ctx.client.send({ path: ctx.healthPath, body: '', method: 'GET' })
      check(res.status === 405, `expected 405 Method Not Allowed, got ${res.status}`)
    },
  },
]
