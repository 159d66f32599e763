import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBundle, PolicyError } from '../../src/policy/index.js';
import { readTar } from '../../src/policy/lib/tar.js';
import { MALFORMED_BUNDLES, type ValidParts } from './malformed-bundles.js';
import { makeTarGz, opaBuild, opaBuildSources, POLICY_DIR } from './support.js';

let valid: ValidParts;

beforeAll(() => {
  const bundle = opaBuild(join(POLICY_DIR, 'default'));
  const wasm = readTar(gunzipSync(bundle)).get('/policy.wasm')!;
  valid = { bundle, wasm };
});

async function loadError(bytes: Buffer, options = {}): Promise<PolicyError> {
  try {
    await loadBundle(bytes, options);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw new Error(`not a PolicyError: ${String(e)}`);
  }
  throw new Error('bundle was accepted');
}

describe('malformed bundles (shared table)', () => {
  for (const c of MALFORMED_BUNDLES) {
    it(`rejects: ${c.name}`, async () => {
      const err = await loadError(c.build(valid), c.options);
      expect(err.code).toBe('POLICY_BUNDLE_INVALID');
      expect(err.message).toMatch(c.message);
    });
  }
});

describe('valid bundles', () => {
  it('loads an opa-built bundle; revision falls back to the sha256 of the bytes', async () => {
    const b = await loadBundle(valid.bundle);
    const sha = createHash('sha256').update(valid.bundle).digest('hex');
    expect(b.sha256).toBe(sha);
    expect(b.revision).toBe(`sha256:${sha}`);
    expect(b.entrypoint).toBe('envoy/authz/allow');
    expect(b.evaluate({ sigil: { valid: true } }, 0n)).toEqual([{ result: true }]);
    expect(b.evaluate({ sigil: { valid: false } }, 0n)).toEqual([{ result: false }]);
  });

  it('uses the manifest revision when opa build --revision sets one', async () => {
    const b = await loadBundle(
      opaBuild(join(POLICY_DIR, 'default'), ['envoy/authz/allow'], 'rev-2026-11-27'),
    );
    expect(b.revision).toBe('rev-2026-11-27');
    expect(b.manifest.revision).toBe('rev-2026-11-27');
  });

  it('merges nested data.json files at their directory path', async () => {
    const b = await loadBundle(
      makeTarGz([
        { name: '/policy.wasm', data: opaWasmReadingData() },
        { name: '/data.json', data: '{"top": 1}' },
        { name: '/roles/admin/data.json', data: '{"level": 9}' },
      ]),
    );
    expect(b.evaluate({}, 0n)).toEqual([{ result: { top: 1, level: 9 } }]);
  });

  it('accepts names without a leading slash and ./ prefixes', async () => {
    const b = await loadBundle(
      makeTarGz([
        { name: './policy.wasm', data: valid.wasm },
        { name: 'data.json', data: '{}' },
      ]),
    );
    expect(b.evaluate({ sigil: { valid: true } }, 0n)).toEqual([{ result: true }]);
  });
});

let readingData: Buffer | undefined;
function opaWasmReadingData(): Buffer {
  readingData ??= readTar(
    gunzipSync(
      opaBuildSources({
        'p.rego': 'package envoy.authz\n\nallow := {"top": data.top, "level": data.roles.admin.level}\n',
      }),
    ),
  ).get('/policy.wasm')!;
  return readingData;
}

describe('host builtins', () => {
  it('refuses a bundle needing a builtin nobody provides, naming it (POLICY_BUILTIN_MISSING)', async () => {
    const bytes = opaBuildSources({
      'p.rego':
        'package envoy.authz\n\nallow if {\n  count(net.lookup_ip_addr(input.host)) > 0\n  rand.intn(input.seed, 10) == 0\n}\n',
    });
    const err = await loadError(bytes);
    expect(err.code).toBe('POLICY_BUILTIN_MISSING');
    expect(err.message).toContain('net.lookup_ip_addr');
    expect(err.message).toContain('rand.intn');
  });

  it('accepts bundles whose host builtins come from opa-wasm (sprintf) or SIGIL (io.jwt.decode)', async () => {
    const b = await loadBundle(
      opaBuildSources({
        'p.rego':
          'package envoy.authz\n\nallow := [sprintf("%d", [input.n]), io.jwt.decode(input.t)[1].sub]\n',
      }),
    );
    expect(b.requiredBuiltins).toEqual(['io.jwt.decode', 'sprintf']);
    const t = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u1"}').toString('base64url')}.`;
    expect(b.evaluate({ n: 7, t }, 0n)).toEqual([{ result: ['7', 'u1'] }]);
  });
});
