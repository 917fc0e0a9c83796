/** Builds the configured frontend (`server.frontend`), with strict mTLS when `server.tls.clientAuth` is set. */
import type { XksgateConfig } from '../config/schema'
import { readClientCas } from '../config/tls-files'
import { allowedSubjectsMatcher } from '../tls/client-auth'
import type { Frontend, FrontendOptions } from './frontend'
import { NodeFrontend } from './node-frontend'
import { UwsFrontend } from './uws-frontend'

export async function listenFrontend (config: XksgateConfig, options: Omit<FrontendOptions, 'clientAuth'>): Promise<Frontend> {
  const clientAuth = config.server.tls.clientAuth
  if (config.server.frontend === 'uws') return await UwsFrontend.listen(options)
  return await NodeFrontend.listen({
    ...options,
    ...(clientAuth !== undefined && {
      clientAuth: {
        caPems: readClientCas(clientAuth.caFiles),
        ...allowedSubjectsMatcher(clientAuth.allowedSubjects, config.keyStores.map(store => store.allowedRegions)),
      },
    }),
  })
}
