/**
 * The three failures the official test client checks on every API (docs/xks-spec.md §14): an access key id and a
 * secret the proxy does not know (each prefixed with 'Invalid') → 401 AuthenticationFailedException, and
 * '/invalid' inserted into the URI prefix → 404 InvalidUriPathException.
 */
import { checkError } from './check'
import type { RequestSpec } from './client'
import type { SelftestCase, SelftestContext } from './suite'

export function credentialAndPrefixCases (api: string, request: (ctx: SelftestContext) => RequestSpec): SelftestCase[] {
  return [
    {
      name: `${api} with an invalid SigV4 access key id → 401 AuthenticationFailedException`,
      run: async ctx => checkError(await ctx.client.send({ ...request(ctx), accessKeyId: 'Invalid' + ctx.target.accessKeyId }), 401, 'AuthenticationFailedException'),
    },
    {
      name: `${api} with an invalid SigV4 secret access key → 401 AuthenticationFailedException`,
      run: async ctx => checkError(await ctx.client.send({ ...request(ctx), secretAccessKey: 'Invalid' + ctx.target.secretAccessKey }), 401, 'AuthenticationFailedException'),
    },
    {
      name: `${api} with an invalid URI prefix → 404 InvalidUriPathException`,
      run: async ctx => {
        const spec = request(ctx)
        checkError(await ctx.client.send({ ...spec, path: ctx.invalidPrefix(spec.path) }), 404, 'InvalidUriPathException')
      },
    },
  ]
}
