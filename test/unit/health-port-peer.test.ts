import t from 'tap'
import { isLoopback } from '../../src/server/health-port'

// Addresses as uWS's getRemoteAddress() gives them: 4 bytes for IPv4, 16 (eight 16-bit groups) for IPv6.
const v4 = (...octets: number[]): ArrayBuffer => new Uint8Array(octets).buffer
const v6 = (...groups: number[]): ArrayBuffer => new Uint8Array(groups.flatMap(g => [g >> 8, g & 0xff])).buffer

t.test('the health port\'s detail goes to loopback peers only', async t => {
  const loopback: Array<[string, ArrayBuffer]> = [
    ['127.0.0.1', v4(127, 0, 0, 1)],
    ['127.0.0.2', v4(127, 0, 0, 2)],
    ['127.255.255.254', v4(127, 255, 255, 254)],
    ['::1', v6(0, 0, 0, 0, 0, 0, 0, 1)],
    ['::ffff:127.0.0.1 (an IPv4 peer of a "::" listener)', v6(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)],
  ]
  const others: Array<[string, ArrayBuffer]> = [
    ['192.0.2.2', v4(192, 0, 2, 2)],
    ['10.0.0.1', v4(10, 0, 0, 1)],
    ['0.0.0.0', v4(0, 0, 0, 0)],
    ['128.0.0.1', v4(128, 0, 0, 1)],
    ['::', v6(0, 0, 0, 0, 0, 0, 0, 0)],
    ['::2', v6(0, 0, 0, 0, 0, 0, 0, 2)],
    ['::1:0:0:1', v6(0, 0, 0, 0, 1, 0, 0, 1)],
    ['fe80::1', v6(0xfe80, 0, 0, 0, 0, 0, 0, 1)],
    ['::ffff:192.0.2.2', v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0202)],
    ['::127.0.0.1 (IPv4-compatible, deprecated, not mapped)', v6(0, 0, 0, 0, 0, 0, 0x7f00, 1)],
    ['no address (a socket already closed)', new ArrayBuffer(0)],
  ]
  for (const [name, address] of loopback) t.ok(isLoopback(address), `${name} is loopback`)
  for (const [name, address] of others) t.notOk(isLoopback(address), `${name} is not`)
})
