/** The downstream address of a Check, as the ledger sink keys unauthenticated denies by it. */
import type { CheckRequest } from '../../../gen/envoy/service/auth/v3/external_auth_pb.js';

/** Longest address kept (an IPv6 literal is ≤ 45 characters; a pipe path may be longer). */
const MAX_SOURCE = 256;

/**
 * `attributes.source.address` (external_auth.proto → AttributeContext.Peer.address): the IP of a socket
 * address (without the port: one client opens many connections), a pipe's path, or an Envoy internal
 * address's name; undefined when Envoy sent none. Read from the raw request, so it never throws.
 */
export function sourceAddress(req: CheckRequest | undefined): string | undefined {
  const a = req?.attributes?.source?.address?.address;
  let s: string | undefined;
  if (a?.case === 'socketAddress') s = a.value.address;
  else if (a?.case === 'pipe') s = a.value.path;
  else if (a?.case === 'envoyInternalAddress') s = a.value.addressNameSpecifier.value;
  return s ? s.slice(0, MAX_SOURCE) : undefined;
}
