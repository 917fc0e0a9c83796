/**
 * GetHealthStatus (spec §GetHealthStatus). Answers 200 with the EKM's truthful state even when the HSM is down:
 * UNAVAILABLE tells KMS more than an error would (docs/xks-spec.md §5.4). One `ekmFleetDetails` entry per HSM
 * backend, each with its own state: KMS reports the key store unreachable only when every entry is UNAVAILABLE.
 */
import type { FleetHealth } from '../../health/fleet-health'
import type { HealthSnapshot } from '../../health/health-monitor'

export interface HealthIdentity {
  proxyVendor: string
  proxyModel: string
  /** Configured EKM vendor; the token's manufacturer id when absent. */
  ekmVendor?: string
}

export interface HealthDeps {
  health: FleetHealth
  identity: HealthIdentity
  /** Live proxy instances in the fleet (1 without a shared registry). */
  fleetSize: () => number
  /** The spec allows a cached result of at most one minute. */
  maxAgeMs: number
}

export async function getHealthStatus (deps: HealthDeps): Promise<string> {
  const snapshot = await deps.health.current(deps.maxAgeMs)
  return JSON.stringify({
    xksProxyFleetSize: Math.max(1, Math.trunc(deps.fleetSize())),
    xksProxyVendor: deps.identity.proxyVendor,
    xksProxyModel: deps.identity.proxyModel,
    ekmVendor: deps.identity.ekmVendor ?? snapshot.token?.manufacturerId ?? 'unknown',
    ekmFleetDetails: snapshot.backends.map(b => fleetEntry(b.name, b.snapshot)),
  })
}

function fleetEntry (name: string, snapshot: HealthSnapshot): { id: string, model: string, healthStatus: string } {
  const token = snapshot.token
  // The backend's configured name stands in until its token has answered once.
  if (token === undefined) return { id: name, model: 'unknown (token not reachable)', healthStatus: snapshot.status }
  return {
    // The serial number is unique within the EKM cluster; the label alone may not be.
    id: `${token.label}/${token.serialNumber}`,
    model: `${token.manufacturerId} ${token.model} (hardware ${token.hardwareVersion}, firmware ${token.firmwareVersion}; ${token.libraryDescription} ${token.libraryVersion})`,
    healthStatus: snapshot.status,
  }
}
