/**
 * Lifecycle entries written by a real `startSigil` (docs/ledger.md §4 "Lifecycle entries", issue #20): one
 * entry per operation through each interface (issuer HTTP and gRPC, key store, trust bundle, policy), start and
 * stop, nothing secret in the ledger file, and the log verifies.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SigilConfig } from '../../src/config/index.js';
import { type LedgerRecord, MerkleLog } from '../../src/ledger/index.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { sha256 } from '../../src/lib/bytes.js';
import { type RunningSigil, startSigil } from '../../src/serve/index.js';
import { configHash, redactSource } from '../../src/serve/lifecycle.js';
import { OPA, opaBuild, POLICY_DIR } from '../policy/support.js';
import { keyPair } from '../support/identity.js';
import { issuerCall, issuerClient } from '../support/issuer-grpc.js';
import { loopbackConfig } from '../support/sigil-config.js';

const OPERATOR = 'lifecycle-test-operator-credential';
const ADMIN = 'lifecycle-test-admin-token-0123';
const SELF = 'spiffe://sigil.mesh/agent/local/dev';
const WORKER = 'spiffe://sigil.mesh/agent/worker/1';

let dir: string;
let config: SigilConfig;
let sigil: RunningSigil | undefined;
const tokens: string[] = [];
const bundleFile = () => join(dir, 'other.jwks.json');
const jwks = (n: number) => ({
  keys: Array.from({ length: n }, (_, i) => ({ ...keyPair().jwk, kid: `other-${i}` })),
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-lifecycle-'));
  writeFileSync(bundleFile(), JSON.stringify(jwks(1)));
  writeFileSync(join(dir, 'policy.tar.gz'), opaBuild(join(POLICY_DIR, 'default'), undefined, 'rev-1'));
  config = await loopbackConfig(dir, {
    agent: { spiffe_id: SELF },
    admin: { token: ADMIN },
    issuer: { operator_token: OPERATOR },
    validator: {
      refresh_interval: 1,
      trust_bundles: [
        {
          source: bundleFile(),
          issuers: ['spiffe://other.mesh/sigil/issuer'],
          trust_domains: ['other.mesh'],
        },
      ],
    },
    policy: { bundle: join(dir, 'policy.tar.gz'), poll_interval: 1 },
    audit: { durability: 'fast' },
  });
  sigil = await startSigil(config, { logger: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await sigil?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every lifecycle entry in the log, oldest first (the log open read-only next to the writer). */
async function entries(): Promise<LedgerRecord[]> {
  // An operation answers before its lifecycle entry is appended (they are chained in order): wait for the chain.
  await sigil?.lifecycleSettled();
  await sigil?.ledger.settled();
  const log = await MerkleLog.open(join(dir, 'ledger'), { readOnly: true });
  try {
    return log
      .queryEntries({ limit: 10_000 })
      .map((h) => h.record)
      .filter((r) => r.kind !== undefined);
  } finally {
    await log.close();
  }
}

const kinds = (rs: LedgerRecord[]) => rs.map((r) => r.kind);

async function httpPost(path: string, body: unknown, auth = OPERATOR): Promise<Record<string, unknown>> {
  const res = await fetch(`${sigil!.issuer.http.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

describe('lifecycle entries from a running sidecar', () => {
  it('start-up: issuer key, agent key, trust bundle, policy, sidecar.start, in that order', async () => {
    expect(OPA).toBeTruthy();
    const rs = await entries();
    expect(kinds(rs)).toEqual([
      'trust.update',
      'key.create',
      'key.create',
      'policy.activate',
      'sidecar.start',
    ]);
    const [trust, issuerKey, agentKey, policy, start] = rs as unknown as Array<Record<string, unknown>>;
    expect(trust).toMatchObject({ source: bundleFile(), kids: ['other-0'] });
    expect(issuerKey).toMatchObject({
      key_type: 'issuer',
      via: 'serve',
      kid: sigil!.issuer.stores.keys.issuer.jwks().keys[0]!.kid,
    });
    expect(agentKey).toMatchObject({
      key_type: 'agent',
      sub: SELF,
      kid: sigil!.issuer.stores.keys.agents.get(SELF)!.kid,
    });
    expect(policy).toMatchObject({ revision: 'rev-1', source: join(dir, 'policy.tar.gz') });
    expect(start).toMatchObject({ config_hash: configHash(config) });
    expect(configHash(config)).not.toBe(
      configHash({ ...config, admin: { ...config.admin, listen: '127.0.0.1:1' } }),
    );
    // Secrets do not change the hash: they are removed before hashing.
    expect(configHash(config)).toBe(
      configHash({ ...config, admin: { ...config.admin, token: 'another-admin-token-xyz' } }),
    );
  });

  it('mint over HTTP and gRPC, delegate over gRPC, revoke over HTTP: one entry each, hashes only', async () => {
    const before = (await entries()).length;
    const m1 = await httpPost('/v1/mint', {
      sub: SELF,
      task_id: 'task-http',
      tool_scope: ['fs.read', 'fs.write'],
    });
    tokens.push(m1.token as string);
    const client = issuerClient(sigil!.issuer.grpc!.target);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${OPERATOR}`);
    const m2 = (await issuerCall(
      client,
      'Mint',
      { sub: SELF, task_id: 'task-grpc', tool_scope: ['fs.read'] },
      md,
    )) as Record<string, unknown>;
    tokens.push(m2.token as string);
    const d = (await issuerCall(client, 'Delegate', {
      token: m1.token as string,
      to: WORKER,
      tool_scope: ['fs.read'],
    })) as Record<string, unknown>;
    tokens.push(d.token as string);
    client.close();
    await httpPost('/v1/revoke', { task: 'task-grpc' });
    const rs = (await entries()).slice(before);
    expect(kinds(rs)).toEqual(['token.mint', 'token.mint', 'token.delegate', 'token.revoke']);
    const sha = (t: string) => sha256(t, 'base64url');
    expect(rs[0]).toMatchObject({
      via: 'http',
      task_id: 'task-http',
      sub: SELF,
      jti: m1.jti,
      token_hash: sha(m1.token as string),
    });
    expect(rs[1]).toMatchObject({ via: 'grpc', task_id: 'task-grpc', jti: m2.jti });
    expect(rs[2]).toMatchObject({
      via: 'grpc',
      sub: WORKER,
      parent_sub: SELF,
      depth: 2,
      parent_hash: sha(m1.token as string),
      token_hash: sha(d.token as string),
    });
    expect(rs[3]).toMatchObject({ via: 'http', task_id: 'task-grpc', already: false });
  });

  it('a rotation, a trust bundle change, a policy swap: one entry each', async () => {
    const before = (await entries()).length;
    const prev = sigil!.issuer.stores.keys.issuer.jwks().keys.at(-1)!.kid;
    const info = await sigil!.issuer.stores.keys.issuer.rotate();
    writeFileSync(bundleFile(), JSON.stringify(jwks(2)));
    writeFileSync(join(dir, 'policy.tar.gz'), opaBuild(join(POLICY_DIR, 'default'), undefined, 'rev-2'));
    const deadline = Date.now() + 8000;
    let rs: LedgerRecord[] = [];
    while (Date.now() < deadline) {
      rs = (await entries()).slice(before);
      if (rs.length >= 3) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // The two sources are polled independently: their entries may come in either order.
    expect(kinds(rs)[0]).toBe('key.rotate');
    expect(kinds(rs).slice(1).sort()).toEqual(['policy.activate', 'trust.update']);
    expect(rs[0]).toMatchObject({ kid: info.kid, prev_kid: prev, via: 'serve', key_type: 'issuer' });
    expect(rs.find((r) => r.kind === 'trust.update')).toMatchObject({ kids: ['other-0', 'other-1'] });
    expect(rs.find((r) => r.kind === 'policy.activate')).toMatchObject({
      revision: 'rev-2',
      prev_revision: 'rev-1',
    });
  });

  it('stop: sidecar.stop is the last entry; the token strings are nowhere in the ledger; it verifies', async () => {
    await sigil!.close();
    sigil = undefined;
    const rs = await entries();
    expect(rs.at(-1)).toMatchObject({ kind: 'sidecar.stop', config_hash: configHash(config) });
    expect(kinds(rs).filter((k) => k === 'sidecar.stop')).toHaveLength(1);
    expect(tokens).toHaveLength(3);
    for (const f of readdirSync(join(dir, 'ledger'))) {
      const bytes = readFileSync(join(dir, 'ledger', f)).toString('latin1');
      for (const t of tokens) {
        for (const part of t.split(/[.~]/))
          expect(bytes.includes(part), `${f} holds a token part`).toBe(false);
      }
      expect(bytes.includes(OPERATOR)).toBe(false);
      expect(bytes.includes(ADMIN)).toBe(false);
    }
    const log = await MerkleLog.open(join(dir, 'ledger'), { forVerify: true });
    try {
      expect(verifyLog(log).ok).toBe(true);
    } finally {
      await log.close();
    }
  });

  it('source URLs lose their credentials', () => {
    expect(redactSource('https://u:p@bundles.example/jwks.json?sig=abc#x')).toBe(
      'https://bundles.example/jwks.json',
    );
    expect(redactSource('/etc/sigil/jwks.json')).toBe('/etc/sigil/jwks.json');
  });
});
