/** Every selftest case, in the order they run: the official test client's, then freshness, throttling, mTLS. */
import { encryptDecryptCases } from './encrypt-decrypt-cases'
import { freshnessCases } from './freshness-cases'
import { healthCases } from './health-cases'
import { keyUsageCases } from './key-usage-cases'
import { metadataCases } from './metadata-cases'
import { mtlsCases } from './mtls-cases'
import type { SelftestCase } from './suite'
import { throttlingCases } from './throttling-cases'

export function allCases (): SelftestCase[] {
  return [...healthCases, ...metadataCases, ...encryptDecryptCases(), ...keyUsageCases, ...freshnessCases, ...throttlingCases, ...mtlsCases()]
}
