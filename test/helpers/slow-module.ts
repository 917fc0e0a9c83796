/**
 * A PKCS#11 module that is SoftHSM with a C_Encrypt the test can slow down: while the file `slowFile` exists, each
 * C_Encrypt first sleeps the number of milliseconds written in it, as an HSM does when it is overloaded. Everything
 * else is SoftHSM's own function list. Built with g++ (a CI package) against pkcs11js's copy of the PKCS#11
 * headers, so it needs no other development package. The serving process finds SoftHSM and the file through the
 * environment `env()` returns.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { repoRoot } from './paths'

const SOURCE = `#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pkcs11.h"

static CK_FUNCTION_LIST wrapped;
static CK_C_Encrypt real_encrypt;

static CK_RV slow_encrypt (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  const char *name = getenv("XKSGATE_TEST_SLOW_ENCRYPT_FILE");
  FILE *file = name == NULL ? NULL : fopen(name, "r");
  if (file != NULL) {
    long ms = 0;
    if (fscanf(file, "%ld", &ms) != 1) ms = 0;
    fclose(file);
    // Only the call that produces output: a length query (out == NULL) stays fast.
    if (out != NULL) usleep(ms * 1000);
  }
  return real_encrypt(s, in, in_len, out, out_len);
}

extern "C" CK_RV C_GetFunctionList (CK_FUNCTION_LIST_PTR_PTR list) {
  if (real_encrypt == NULL) {
    void *lib = dlopen(getenv("XKSGATE_TEST_SLOW_TARGET"), RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) return CKR_GENERAL_ERROR;
    CK_C_GetFunctionList get = (CK_C_GetFunctionList) dlsym(lib, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR real;
    CK_RV rv = get(&real);
    if (rv != CKR_OK) return rv;
    memcpy(&wrapped, real, sizeof wrapped);
    real_encrypt = real->C_Encrypt;
    wrapped.C_Encrypt = slow_encrypt;
  }
  *list = &wrapped;
  return CKR_OK;
}
`

const SOFTHSM = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib64/pkcs11/libsofthsm2.so']

export interface SlowModule {
  modulePath: string
  /** For the serving process: where SoftHSM is and which file slows C_Encrypt down. */
  env: () => NodeJS.ProcessEnv
  /** Every C_Encrypt from now on sleeps `ms` first. */
  slowDown: (ms: number) => void
  restore: () => void
}

export function buildSlowModule (dir: string): SlowModule {
  const target = SOFTHSM.find(p => fs.existsSync(p))
  if (target === undefined) throw new Error('SoftHSM not found')
  const source = path.join(dir, 'slow.cc')
  const modulePath = path.join(dir, 'libslow.so')
  const slowFile = path.join(dir, 'slow-encrypt-ms')
  fs.writeFileSync(source, SOURCE)
  execFileSync('g++', ['-shared', '-fPIC', '-I', path.join(repoRoot, 'node_modules/pkcs11js/includes/pkcs11'), '-o', modulePath, source, '-ldl'])
  return {
    modulePath,
    env: () => ({ XKSGATE_TEST_SLOW_TARGET: target, XKSGATE_TEST_SLOW_ENCRYPT_FILE: slowFile }),
    slowDown: ms => fs.writeFileSync(slowFile, String(ms)),
    restore: () => fs.rmSync(slowFile, { force: true }),
  }
}
