/**
 * Child-process helper of softhsm.ts: creates the missing AES-256 keys on a token. Reads a KeygenRequest as
 * JSON on stdin, writes {"created": [labels]} on stdout. Running in its own process keeps the parent free of
 * any Cryptoki state (a C_Finalize there could break a pool that starts later).
 */
import { createHash } from 'node:crypto'
import * as pkcs11js from 'pkcs11js'
import { findSlot, initialize, loadModule } from './pkcs11/cryptoki'
import type { KeygenRequest } from './softhsm'

function main (req: KeygenRequest): string[] {
  const api = loadModule(req.modulePath)
  initialize(api)
  try {
    const session = api.C_OpenSession(findSlot(api, req.tokenLabel), pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
    api.C_Login(session, pkcs11js.CKU_USER, req.pin)
    const created: string[] = []
    for (const key of req.keys) {
      api.C_FindObjectsInit(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_LABEL, value: key.label },
      ])
      const exists = api.C_FindObjects(session, 1).length > 0
      api.C_FindObjectsFinal(session)
      if (exists) continue
      api.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: key.encrypt },
        { type: pkcs11js.CKA_DECRYPT, value: key.decrypt },
        // SoftHSM enables these by default; the key must not do more than asked (GetKeyMetadata lists usages).
        { type: pkcs11js.CKA_WRAP, value: false },
        { type: pkcs11js.CKA_UNWRAP, value: false },
        { type: pkcs11js.CKA_SIGN, value: false },
        { type: pkcs11js.CKA_VERIFY, value: false },
        { type: pkcs11js.CKA_DERIVE, value: false },
        { type: pkcs11js.CKA_LABEL, value: key.label },
        // A stable id derived from the label, so re-provisioning gives the same CKA_ID.
        { type: pkcs11js.CKA_ID, value: createHash('sha256').update(key.label).digest().subarray(0, 16) },
      ])
      created.push(key.label)
    }
    api.C_CloseSession(session)
    return created
  } finally {
    api.C_Finalize()
  }
}

let input = ''
process.stdin.on('data', (d: Buffer) => { input += d.toString() })
process.stdin.on('end', () => {
  try {
    process.stdout.write(JSON.stringify({ created: main(JSON.parse(input) as KeygenRequest) }))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exitCode = 1
  }
})
