/** Builder for the agent form of SPIFFE IDs used across SIGIL: `spiffe://<td>/agent/<type>/<instance>`. */
import { TbitError } from './errors.js';
import { parseSpiffeId, type SpiffeId } from './spiffe-id.js';

/**
 * Builds and validates `spiffe://<trustDomain>/agent/<type>/<instance>`. Each part must be one valid
 * SPIFFE path segment (so `type` cannot smuggle in a `/`); throws `TBIT_INVALID_SPIFFE_ID` otherwise.
 */
export function agentSpiffeId(trustDomain: string, type: string, instance: string): SpiffeId {
  const parsed = parseSpiffeId(`spiffe://${trustDomain}/agent/${type}/${instance}`);
  // The string may parse while `type` or `instance` held a '/', which would shift the segments.
  if (parsed.segments.length !== 3 || parsed.trustDomain !== trustDomain) {
    throw new TbitError('TBIT_INVALID_SPIFFE_ID', 'agent type and instance must each be one path segment');
  }
  return parsed;
}
