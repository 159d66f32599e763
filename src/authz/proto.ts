/**
 * Loads the hand-written ext_authz v3 and grpc.health.v1 protos (proto/ at the package root).
 * The loader options are part of SIGIL's contract with the policy module: the decoded CheckRequest
 * object the PolicyDecider receives has exactly this shape (docs/authz.md §Decoded request).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GrpcObject, loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

/**
 * @grpc/proto-loader options: lowerCamelCase field names, int64 as decimal strings, enums as their
 * names, the name of the set oneof member present, absent fields left undefined (no defaults).
 */
export const PROTO_LOADER_OPTIONS: Readonly<Options> = Object.freeze({
  keepCase: false,
  longs: String,
  enums: String,
  oneofs: true,
  defaults: false,
  arrays: false,
  objects: false,
});

/** Finds proto/ both from src/authz (tsx) and dist/src/authz (built). */
export function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'envoy/service/auth/v3/external_auth.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('proto/ directory not found next to the SIGIL package');
}

let cached: { definition: PackageDefinition; grpc: GrpcObject } | undefined;

/** The loaded package definition and its grpc-js object (loaded once per process). */
export function authzProtos(): { definition: PackageDefinition; grpc: GrpcObject } {
  if (!cached) {
    const definition = loadSync(
      ['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'],
      {
        ...PROTO_LOADER_OPTIONS,
        includeDirs: [protoRoot()],
      },
    );
    cached = { definition, grpc: loadPackageDefinition(definition) };
  }
  return cached;
}
