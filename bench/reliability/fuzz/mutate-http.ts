import crypto from 'node:crypto'
import { header, type RawRequest, serialize, setHeader } from './request'
import type { Rng } from './rng'
import { randomString } from './values'

/**
 * Mutations of the parts around the body: the header set and values, the SigV4 fields (Authorization,
 * X-Amz-Date, the signed path) and the framing (lengths, chunking, truncation, request line). Each says whether
 * the server may answer it by closing the connection: framing it cannot trust (docs/behaviour.md "HTTP framing").
 */

export interface Mutated { what: string, mayClose: boolean }

const CONTENT_TYPES = ['text/plain', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/x-amz-json-1.1', '', 'application/json, text/plain', '*/*']
const EXTRA_HEADERS = ['X-Amz-Security-Token', 'X-Amz-Content-Sha256', 'X-Forwarded-For', 'Expect', 'Connection', 'Accept', 'User-Agent', 'Cookie', 'X-Amz-Target']
const TOKEN = 'abcdefghijklmnopqrstuvwxyz0123456789-'

export function mutateHeaders (rng: Rng, r: RawRequest): Mutated {
  switch (rng.int(0, 8)) {
    case 0: {
      const name = rng.pick(['Content-Type', 'X-Amz-Date', 'Authorization', 'Host'])
      setHeader(r, name, undefined)
      return { what: `no ${name}`, mayClose: name === 'Host' }
    }
    case 1: setHeader(r, 'Content-Type', rng.pick(CONTENT_TYPES)); return { what: 'Content-Type', mayClose: false }
    case 2: {
      const name = rng.pick(EXTRA_HEADERS)
      const value = name === 'X-Amz-Content-Sha256'
        ? rng.pick([crypto.createHash('sha256').update(r.body).digest('hex'), 'UNSIGNED-PAYLOAD', randomString(rng).slice(0, 80)])
        : name === 'Connection' ? rng.pick(['close', 'keep-alive', 'upgrade']) : randomString(rng).replace(/[\r\n\0]/g, '').slice(0, 200)
      r.headers.push([name, value])
      return { what: `extra ${name}`, mayClose: name === 'Connection' || name === 'Expect' }
    }
    case 3: {
      const name = rng.pick(['X-Amz-Date', 'Authorization', 'Content-Type', 'Host', 'Content-Length'])
      const value = header(r, name) ?? ''
      r.headers.splice(rng.int(0, r.headers.length), 0, [name, rng.chance(0.5) ? value : value + '0'])
      return { what: `${name} twice`, mayClose: name === 'Host' || name === 'Content-Length' }
    }
    case 4: r.headers = r.headers.map(([k, v]) => [rng.chance(0.5) ? k.toLowerCase() : k.toUpperCase(), v]); return { what: 'header name case', mayClose: false }
    case 5: r.headers.push([`X-${rng.text(rng.int(1, 20), TOKEN)}`, rng.text(rng.int(0, 7000), TOKEN)]); return { what: 'long header', mayClose: true }
    case 6: r.headers = r.headers.map(([k, v]) => [k, rng.pick([` ${v}`, `${v} `, `\t${v}`, v])]); return { what: 'header whitespace', mayClose: false }
    case 7: setHeader(r, 'Host', rng.pick(['example.com', '127.0.0.1', '', 'xks.example.com:443', randomString(rng).replace(/[\r\n\0]/g, '').slice(0, 100)])); return { what: 'Host value', mayClose: true }
    default: {
      for (let i = rng.int(1, 60); i > 0; i--) r.headers.push([`X-F${i}`, rng.text(rng.int(0, 20), TOKEN)])
      return { what: 'many headers', mayClose: true }
    }
  }
}

function mutateAuthorization (rng: Rng, auth: string): string {
  const m = /^(\S+) Credential=([^/]*)\/([^/]*)\/([^/]*)\/([^/]*)\/([^,]*), SignedHeaders=([^,]*), Signature=(.*)$/.exec(auth)
  if (m === null) return auth
  let [, alg, akid, day, region, service, term, signed, sig] = m
  switch (rng.int(0, 9)) {
    case 0: alg = rng.pick(['AWS4-HMAC-SHA512', 'aws4-hmac-sha256', '', 'AWS4-HMAC-SHA256 ', 'AWS3']); break
    case 1: akid = rng.pick(['', akid.toLowerCase(), akid + 'A', 'AKIAIOSFODNN7EXAMPLE', randomString(rng).slice(0, 40)]); break
    case 2: day = rng.pick(['', '20200101', day.slice(0, 7), '99999999', 'abcdefgh']); break
    case 3: region = rng.pick(['', 'us-west-2', 'US-EAST-1', 'a'.repeat(200)]); break
    case 4: service = rng.pick(['kms', 's3', 'kms-xks-proxy ', '']); break
    case 5: term = rng.pick(['aws4_reques', 'AWS4_REQUEST', '', 'aws4_request/extra']); break
    case 6: signed = rng.pick(['host', 'x-amz-date', 'content-type;host;x-amz-date', 'HOST;X-AMZ-DATE', 'x-amz-date;host', '', 'host;host;x-amz-date', 'host;x-amz-date;x-missing']); break
    case 7: sig = rng.pick([sig.slice(1), sig + '0', sig.toUpperCase(), 'z'.repeat(64), '', sig.slice(0, 63) + (sig[63] === '0' ? '1' : '0')]); break
    case 8: return rng.pick([auth.replace(/, /g, ','), auth.replace(/ /g, '  '), auth + ',', auth.replace('Credential=', 'credential='), randomString(rng).replace(/[\r\n\0]/g, '').slice(0, 300), ''])
    default: return `${alg} SignedHeaders=${signed}, Credential=${akid}/${day}/${region}/${service}/${term}, Signature=${sig}`
  }
  return `${alg} Credential=${akid}/${day}/${region}/${service}/${term}, SignedHeaders=${signed}, Signature=${sig}`
}

/** The signing time of `r`, from its X-Amz-Date (yyyymmddThhmmssZ). */
function dateOf (r: RawRequest): number {
  const d = header(r, 'X-Amz-Date') ?? ''
  return Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)), Number(d.slice(9, 11)), Number(d.slice(11, 13)), Number(d.slice(13, 15)))
}

const PATH_TAILS = ['/', '//', '/../encrypt', '%2Fencrypt', '?x=1', '#frag', '/sign', '/ENCRYPT']

/** SigV4 mutations; `resign` builds the request again, correctly signed, for another date or path. */
export function mutateSigv4 (rng: Rng, r: RawRequest, resign: (path: string, dateMs?: number) => RawRequest): { request: RawRequest } & Mutated {
  switch (rng.int(0, 4)) {
    case 0: case 1:
      setHeader(r, 'Authorization', mutateAuthorization(rng, header(r, 'Authorization') ?? ''))
      return { request: r, what: 'Authorization', mayClose: false }
    case 2: {
      const skew = rng.pick([301, -301, 299, -299, 360, 86_400, -86_400, 3_000_000_000]) * 1000
      return { request: resign(r.path, dateOf(r) + skew), what: `signed ${skew / 1000} s off`, mayClose: false }
    }
    case 3: {
      const date = header(r, 'X-Amz-Date') ?? ''
      setHeader(r, 'X-Amz-Date', rng.pick([date.slice(0, 15), date.toLowerCase(), new Date(dateOf(r)).toISOString(), '20261301T000000Z', '00000000T000000Z', date + 'Z', '']))
      return { request: r, what: 'X-Amz-Date format', mayClose: false }
    }
    default: {
      const path = rng.chance(0.5)
        ? r.path + rng.pick(PATH_TAILS)
        : r.path.replace(/\/keys\/[^/]+\//, `/keys/${rng.pick(['nope', '%66oo', 'FOO', 'a'.repeat(300), 'foo%2F..'])}/`)
      return { request: resign(path), what: 'path (signed)', mayClose: false }
    }
  }
}

/** What to write for a framing mutation: the bytes, and whether the client then ends its side at once. */
export interface Framed extends Mutated { bytes: Buffer, endAfterWrite: boolean, split: boolean }

function chunked (rng: Rng, body: Buffer, broken: boolean): Buffer {
  const parts: Buffer[] = []
  for (let at = 0; at < body.length;) {
    const n = Math.min(body.length - at, rng.int(1, 2000))
    const size = broken && rng.chance(0.3) ? rng.pick(['zz', '-1', (n + 1).toString(16), `${n.toString(16)};ext=1`]) : n.toString(16)
    parts.push(Buffer.from(`${size}\r\n`), body.subarray(at, at + n), Buffer.from('\r\n'))
    at += n
  }
  parts.push(Buffer.from(broken && rng.chance(0.5) ? '' : '0\r\n\r\n'))
  return Buffer.concat(parts)
}

export function mutateFraming (rng: Rng, r: RawRequest): Framed {
  const done = (what: string, bytes: Buffer, o: Partial<Framed> = {}): Framed =>
    ({ what, bytes, mayClose: true, endAfterWrite: false, split: false, ...o })
  const length = r.body.length
  switch (rng.int(0, 9)) {
    case 0: setHeader(r, 'Content-Length', String(Math.max(0, length - rng.int(1, 50)))); return done('Content-Length short', serialize(r))
    case 1: setHeader(r, 'Content-Length', String(length + rng.int(1, 50))); return done('Content-Length long', serialize(r))
    case 2: setHeader(r, 'Content-Length', rng.pick(['-1', '+5', '0x10', ' ', '1e3', '99999999999', '70000', `${length}, ${length}`, `${length} `])); return done('Content-Length value', serialize(r))
    case 3: {
      const broken = rng.chance(0.5)
      setHeader(r, 'Content-Length', rng.chance(0.2) ? String(length) : undefined)
      setHeader(r, 'Transfer-Encoding', rng.pick(['chunked', 'chunked', 'gzip, chunked', 'Chunked']))
      const head = serialize({ ...r, body: Buffer.alloc(0) })
      return done(`chunked${broken ? ' (broken)' : ''}`, Buffer.concat([head, chunked(rng, r.body, broken)]))
    }
    case 4: {
      const bytes = serialize(r)
      return done('truncated, then closed', bytes.subarray(0, rng.int(1, bytes.length - 1)), { endAfterWrite: true })
    }
    case 5: return done('written in pieces', serialize(r), { split: true, mayClose: false })
    case 6: r.method = rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'post', 'P0ST', 'CONNECT', '']); return done(`method ${r.method}`, serialize(r))
    case 7: r.version = rng.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', 'http/1.1', '', 'HTTP/1.11']); return done(`version ${r.version}`, serialize(r))
    case 8: {
      const text = serialize(r).toString('latin1')
      return done('bad header line', Buffer.from(text.replace('\r\nX-Amz-Date', rng.pick(['\r\nX-Amz-Date\0', '\r\n X-Amz-Date', '\r\nX-Amz-Date :', '\nX-Amz-Date', '\r\nBroken\r\nX-Amz-Date'])), 'latin1'))
    }
    default: return done('pipelined pair', Buffer.concat([serialize(r), serialize(r)]))
  }
}
