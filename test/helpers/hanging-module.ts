/**
 * A PKCS#11 module that never answers, as a network HSM's library does when the HSM is unreachable and the
 * library has no timeout of its own: C_GetFunctionList blocks forever. Built with g++ (a CI package) into `dir`.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const SOURCE = `#include <unistd.h>
extern "C" unsigned long C_GetFunctionList(void **list) { for (;;) pause(); }
`

export function buildHangingModule (dir: string): string {
  const source = path.join(dir, 'hang.cc')
  const library = path.join(dir, 'libhang.so')
  fs.writeFileSync(source, SOURCE)
  execFileSync('g++', ['-shared', '-fPIC', '-o', library, source])
  return library
}
