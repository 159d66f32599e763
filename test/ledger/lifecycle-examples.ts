/** One valid lifecycle entry of every kind (docs/ledger.md §4 "Lifecycle entries"), for the ledger tests. */
import type { LIFECYCLE_KINDS, LifecycleRecord } from '../../src/ledger/index.js';

export const H43 = 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg';
const H43B = 'LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564';
const HEX = 'a'.repeat(64);
const base = { v: 1 as const, id: '6f1c0d1e-0000-4000-8000-00000000000a', ts: 1_767_225_600_000 };

/** One valid entry of every kind. */
export const EXAMPLES: Record<(typeof LIFECYCLE_KINDS)[number], LifecycleRecord> = {
  'token.mint': {
    ...base,
    kind: 'token.mint',
    via: 'http',
    iss: 'spiffe://sigil.mesh/sigil/issuer',
    sub: 'spiffe://sigil.mesh/agent/planner/1',
    task_id: 'task-1',
    tool_scope: ['fs.read', 'search.*'],
    aud: ['spiffe://sigil.mesh'],
    jti: 'j-1',
    exp: 1_767_229_200,
    ttl: 3600,
    kid: H43,
    token_hash: H43B,
  },
  'token.delegate': {
    ...base,
    kind: 'token.delegate',
    via: 'grpc',
    sub: 'spiffe://sigil.mesh/agent/worker/2',
    parent_sub: 'spiffe://sigil.mesh/agent/planner/1',
    task_id: 'task-1',
    tool_scope: ['fs.read'],
    jti: 'j-2',
    exp: 1_767_228_000,
    depth: 1,
    kid: H43B,
    parent_hash: H43,
    token_hash: H43B,
  },
  'token.revoke': { ...base, kind: 'token.revoke', via: 'cli', task_id: 'task-1', already: false },
  'key.create': {
    ...base,
    kind: 'key.create',
    via: 'serve',
    key_type: 'agent',
    kid: H43,
    thumbprint: H43,
    alg: 'EdDSA',
    sub: 'spiffe://sigil.mesh/agent/planner/1',
  },
  'key.rotate': {
    ...base,
    kind: 'key.rotate',
    via: 'cli',
    key_type: 'issuer',
    kid: H43B,
    thumbprint: H43B,
    alg: 'EdDSA',
    prev_kid: H43,
  },
  'key.retire': {
    ...base,
    kind: 'key.retire',
    via: 'serve',
    key_type: 'issuer',
    kid: H43,
    thumbprint: H43,
    alg: 'EdDSA',
  },
  'trust.update': {
    ...base,
    kind: 'trust.update',
    source: 'https://issuer.example/jwks.json',
    hash: HEX,
    kids: ['k1', 'k2'],
    revoked: 3,
  },
  'policy.activate': {
    ...base,
    kind: 'policy.activate',
    source: '/etc/sigil/policy.tar.gz',
    revision: 'rev-7',
    bundle_hash: HEX,
    prev_revision: 'rev-6',
  },
  'sidecar.start': { ...base, kind: 'sidecar.start', version: '0.1.0', config_hash: HEX },
  'sidecar.stop': { ...base, kind: 'sidecar.stop', version: '0.1.0', config_hash: HEX },
};
