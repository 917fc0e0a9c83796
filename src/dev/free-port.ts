import net from 'node:net'

/** A TCP port free on 127.0.0.1 right now (the kernel picks it); for the dev CLI, tests and the benchmark. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}
