/** `sigil demo` as a user runs it: a child process, real Envoy; the report must show every outcome and a verified receipt. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/sigil-cli.js';

describe('sigil demo', () => {
  it('prints the decision table, the signed ledger root and a verified receipt', async () => {
    const { code, stdout, stderr } = await runCli(['demo', '--json']);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/worker\s+POST \/tools\/fs\.write\s+fs\.write\s+403\s+AUTHZ_TOOL_NOT_IN_SCOPE/);
    expect(stdout).toMatch(/anonymous\s+POST \/tools\/fs\.read\s+fs\.read\s+401\s+AUTHZ_NO_TOKEN/);
    expect(stdout).toMatch(/root [0-9a-f]{64}/);
    expect(stdout).toMatch(/→ VERIFIED/);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      rows: { status: number; expect: number; index?: number }[];
      checkpoint: { size: number };
      receipt: { verified: boolean };
    };
    expect(result.rows.map((r) => r.status)).toEqual([200, 200, 403, 200, 403, 401, 401]);
    // Every decision of a verified token got its own ledger index; the tokenless and the forged call were
    // aggregated (one entry per source and code), and the checkpoint covers all of them.
    // Lifecycle entries (keys, the demo's mints and delegations, start) sit between them (docs/ledger.md §4).
    const indices = result.rows.map((r) => r.index);
    expect(indices.slice(5)).toEqual([undefined, undefined]);
    const own = indices.slice(0, 5) as number[];
    expect(own.every((x, i) => Number.isSafeInteger(x) && (i === 0 || x > own[i - 1]!))).toBe(true);
    const lifecycle = Number(stdout.match(/aggregate entries, (\d+) lifecycle entries/)?.[1]);
    expect(lifecycle).toBeGreaterThanOrEqual(4); // issuer key, agent keys, a mint, sidecar.start at least
    expect(result.checkpoint.size).toBe(7 + lifecycle);
    expect(stdout).toMatch(/5 decisions one entry each, 2 unauthenticated denies in 2 aggregate entries/);
    expect(result.receipt.verified).toBe(true);
  }, 120_000); // a child process that starts Envoy and SIGIL: generous on a loaded machine
});
