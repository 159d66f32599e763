/** `sigil.audit.witnesses`, `witness_policy` and `sigil.witness` are validated at start-up, naming the key. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { noteSigner } from '../../src/ledger/index.js';
import { generateEd25519 } from '../../src/lib/ed25519-key.js';
import { cosigner } from '../../src/witness/index.js';

const w = (name: string) => cosigner(name, generateEd25519().privateKey).vkey;
const load = (overrides: Record<string, unknown>) => () => loadConfig({ env: {}, overrides });
const witnesses = ['b.mesh/witness', 'c.mesh/witness'].map((name) => ({
  name,
  url: `http://127.0.0.1:1/${name}`,
  key: w(name),
}));

describe('witness configuration', () => {
  it('accepts witnesses and a k-of-n policy, and a witness with its known logs', () => {
    const logKey = noteSigner('b.mesh/sigil/audit', generateEd25519().privateKey).verifierKey;
    const c = loadConfig({
      env: {},
      overrides: {
        audit: { witnesses, witness_policy: { k: 2 } },
        witness: { name: 'a.mesh/witness', logs: [{ origin: 'b.mesh/sigil/audit', key: logKey }] },
      },
    });
    expect(c.audit.witnesses).toHaveLength(2);
    expect(c.audit.witness_policy.k).toBe(2);
    expect(c.witness.logs[0]?.origin).toBe('b.mesh/sigil/audit');
  });

  it('accepts the mesh collector origins the dashboard may fetch from', () => {
    const c = loadConfig({ env: {}, overrides: { admin: { connect_src: ['http://127.0.0.1:9290'] } } });
    expect(c.admin.connect_src).toEqual(['http://127.0.0.1:9290']);
  });

  it.each([
    [
      { audit: { witnesses: [{ ...witnesses[0], key: 'nope' }] } },
      /sigil\.audit\.witnesses\.0\.key: bad cosigner key/,
    ],
    [
      { audit: { witnesses: [{ ...witnesses[0], name: 'other' }] } },
      /sigil\.audit\.witnesses\.0\.key: key name "b\.mesh\/witness" is not the witness name "other"/,
    ],
    [
      {
        audit: {
          witnesses: [
            { ...witnesses[0], key: noteSigner('b.mesh/witness', generateEd25519().privateKey).verifierKey },
          ],
        },
      },
      /witnesses\.0\.key: .*0x04/,
    ],
    [
      { audit: { witnesses: [{ ...witnesses[0], url: 'ftp://x' }] } },
      /sigil\.audit\.witnesses\.0\.url: must be an http\(s\) URL/,
    ],
    [
      { audit: { witnesses: [witnesses[0], witnesses[0]] } },
      /sigil\.audit\.witnesses\.1\.name: duplicate witness/,
    ],
    [
      { audit: { witnesses, witness_policy: { k: 3 } } },
      /sigil\.audit\.witness_policy\.k: 3 is more than the 2 configured witnesses/,
    ],
    [
      { witness: { name: 'a.mesh/witness', logs: [{ origin: 'x/log', key: w('x/log') }] } },
      /sigil\.witness\.logs\.0\.key: bad verifier key/,
    ],
    [
      { admin: { connect_src: ['http://127.0.0.1:9290/collect'] } },
      /sigil\.admin\.connect_src\.0: must be an http\(s\) origin/,
    ],
    [
      {
        witness: {
          logs: [{ origin: 'x/log', key: noteSigner('x/log', generateEd25519().privateKey).verifierKey }],
        },
      },
      /sigil\.witness\.name: required/,
    ],
  ])('refuses %j', (overrides, message) => {
    expect(load(overrides)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }),
    );
  });
});
