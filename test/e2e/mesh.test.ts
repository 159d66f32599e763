/** `sigil demo --mesh` as a user runs it: three real Envoys + SIGILs + MCP tool servers, asserted from its JSON. */
import { describe, expect, it } from 'vitest';
import { REVOCATION_BOUND_MS } from '../../src/demo/run-mesh.js';
import { runCli } from '../support/sigil-cli.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Row {
  step: string;
  caller: string;
  sidecar: string;
  tool: string;
  expect: string;
  got: string;
  decisionId: string;
  seen: string;
}

describe('sigil demo --mesh', () => {
  it('delegates, calls MCP tools across three sidecars, refuses what it must, revokes everywhere', async () => {
    const { code, stdout, stderr } = await runCli(['demo', '--mesh', '--json']);
    expect(code, stderr + stdout).toBe(0);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      rows: Row[];
      revocation: { sidecars: Array<{ sidecar: string; ms: number }> };
    };
    const rows = result.rows;
    for (const r of rows) expect(r.got, r.step).toBe(r.expect);
    const by = (step: string) => rows.filter((r) => r.step === step);
    // Real tool calls: the tool server saw the verified caller and its chain depth.
    expect(by('read a file')[0]).toMatchObject({ got: 'allow', seen: 'orchestrator@1', sidecar: 'files' });
    expect(by('  ↳ inside summarise')[0]).toMatchObject({ got: 'allow', seen: 'files@2', sidecar: 'search' });
    expect(by('report back')[0]).toMatchObject({ got: 'allow', seen: 'search@2', sidecar: 'orchestrator' });
    // A token copied out of a request is worthless without its key; a captured request cannot be replayed.
    expect(by('replay the captured call')[0]).toMatchObject({ got: 'AUTHZ_PROOF_REPLAYED', seen: '-' });
    expect(by('stolen token, no proof')[0]).toMatchObject({ got: 'AUTHZ_PROOF_MISSING', seen: '-' });
    expect(by('stolen token, thief-signed proof')[0]).toMatchObject({
      got: 'AUTHZ_PROOF_INVALID',
      seen: '-',
    });
    // The delegation narrowed the files agent's scope.
    expect(by('out of delegated scope')[0]).toMatchObject({
      got: 'AUTHZ_TOOL_NOT_IN_SCOPE',
      caller: 'files',
    });
    for (const r of rows) expect(r.decisionId).toMatch(UUID);
    // Revocation reached every sidecar within the documented bound.
    const revoked = by('after revoking the task');
    expect(revoked.map((r) => r.sidecar).sort()).toEqual(['files', 'orchestrator', 'search']);
    expect(revoked.every((r) => r.got === 'TBIT_REVOKED')).toBe(true);
    expect(result.revocation.sidecars).toHaveLength(3);
    for (const s of result.revocation.sidecars) expect(s.ms).toBeLessThanOrEqual(REVOCATION_BOUND_MS);
    expect(stdout).toMatch(/refused \(TBIT_REVOKED\) on:/);
  }, 180_000);
});
