/** buildGraph: the delegation graph the dashboard draws, from decision records (pure function). */
import { describe, expect, it } from 'vitest';
import { buildGraph, type IndexedRecord } from '../../src/admin/api/lib/graph.js';
import type { DecisionRecord, RecordedHop } from '../../src/ledger/record.js';

const ISS = 'spiffe://sigil.mesh/sigil/issuer';
const A = 'spiffe://sigil.mesh/agent/a/1';
const B = 'spiffe://sigil.mesh/agent/b/1';
const C = 'spiffe://sigil.mesh/agent/c/1';
const hop = (sub: string, iss: string, scope: string[]): RecordedHop => ({
  sub,
  iss,
  jti: `${sub}-j`,
  tool_scope: scope,
  exp: 1,
});
let n = 0;
const entry = (r: Partial<DecisionRecord>): IndexedRecord => {
  const i = n++;
  return {
    index: i,
    record: { v: 1, id: `d${i}`, ts: 1000 + i, decision: 'allow', code: 'OK', http_status: 200, ...r },
  };
};

const chainABC = [
  hop(A, ISS, ['fs.*', 'web.search']),
  hop(B, A, ['fs.read', 'fs.write']),
  hop(C, B, ['fs.read']),
];

describe('buildGraph', () => {
  it('draws task → root holder → delegates with the narrowed scopes and counts leaf decisions', () => {
    const g = buildGraph([
      entry({ task_id: 't1', sub: C, chain: chainABC }),
      entry({ task_id: 't1', sub: C, chain: chainABC }),
      entry({ task_id: 't1', sub: B, chain: chainABC.slice(0, 2) }),
    ]);
    expect(g.edges.map((e) => [e.kind, e.source, e.target, e.scope.join(','), e.count])).toEqual([
      ['root', 'task:t1', `agent:${A}`, 'fs.*,web.search', 3],
      ['delegation', `agent:${A}`, `agent:${B}`, 'fs.read,fs.write', 3],
      ['delegation', `agent:${B}`, `agent:${C}`, 'fs.read', 2],
    ]);
    const byId = Object.fromEntries(g.nodes.map((x) => [x.id, x]));
    expect(byId[`agent:${C}`]!.allow).toBe(2);
    expect(byId[`agent:${B}`]!.allow).toBe(1);
    expect(byId[`agent:${A}`]!.allow + byId[`agent:${A}`]!.deny).toBe(0);
    expect(byId['task:t1']!.allow).toBe(3);
  });

  it('a forged (TBIT_*) record never adds a delegation edge; its claimed subject is only an unverified caller', () => {
    const g = buildGraph([
      entry({ task_id: 't1', sub: C, chain: chainABC }),
      entry({
        task_id: 't1',
        sub: 'spiffe://sigil.mesh/agent/evil/1',
        decision: 'deny',
        code: 'TBIT_SCOPE_WIDENED',
      }),
      entry({ task_id: 't1', sub: C, decision: 'deny', code: 'TBIT_BAD_SIGNATURE' }),
    ]);
    expect(g.edges.filter((e) => e.kind === 'delegation')).toHaveLength(2);
    const unverified = g.edges
      .filter((e) => e.kind === 'unverified')
      .map((e) => e.target)
      .sort();
    expect(unverified).toEqual([`agent:${C}`, 'agent:spiffe://sigil.mesh/agent/evil/1'].sort());
  });

  it('a chain-less deny after the chain verified (e.g. tool not in scope) counts on the proven holder', () => {
    const g = buildGraph([
      entry({ task_id: 't1', sub: C, chain: chainABC }),
      entry({ task_id: 't1', sub: C, decision: 'deny', code: 'AUTHZ_TOOL_NOT_IN_SCOPE' }),
    ]);
    const c = g.nodes.find((x) => x.id === `agent:${C}`)!;
    expect([c.allow, c.deny, c.last?.decision]).toEqual([1, 1, 'deny']);
    expect(g.edges.some((e) => e.kind === 'unverified')).toBe(false);
  });

  it('filters by task but lists every task; records without a task are only counted', () => {
    const g = buildGraph(
      [
        entry({ task_id: 't1', sub: A, chain: chainABC.slice(0, 1) }),
        entry({ task_id: 't2', sub: B, chain: [hop(B, ISS, ['x'])] }),
        entry({ decision: 'deny', code: 'AUTHZ_NO_TOKEN' }),
      ],
      't2',
    );
    expect(g.tasks).toEqual(['t1', 't2']);
    expect(g.nodes.map((x) => x.id).sort()).toEqual([`agent:${B}`, 'task:t2']);
    expect(g.unattributed).toBe(1);
    expect(g.records).toBe(1);
    // The window statement: 3 decisions read, the drawn one's time as both ends.
    expect(g.window).toBe(3);
    expect(g.since).toBe(g.until);
    expect(g.since).not.toBeNull();
  });

  it('states the time range of the drawn decisions (oldest and newest ts), null when none is drawn', () => {
    const g = buildGraph([
      {
        index: 5,
        record: { ...entry({ task_id: 't1', sub: A, chain: chainABC.slice(0, 1) }).record, ts: 9000 },
      },
      {
        index: 6,
        record: { ...entry({ task_id: 't1', sub: A, chain: chainABC.slice(0, 1) }).record, ts: 7000 },
      },
      {
        index: 7,
        record: { ...entry({ task_id: 't2', sub: B, chain: [hop(B, ISS, ['x'])] }).record, ts: 1000 },
      },
    ]);
    expect([g.since, g.until, g.window]).toEqual([1000, 9000, 3]);
    expect([buildGraph([], 't1').since, buildGraph([], 't1').until]).toEqual([null, null]);
    const t1 = buildGraph(
      [
        {
          index: 1,
          record: { ...entry({ task_id: 't2', sub: B, chain: [hop(B, ISS, ['x'])] }).record, ts: 5 },
        },
      ],
      't1',
    );
    expect([t1.since, t1.window, t1.records]).toEqual([null, 1, 0]);
  });

  it('the last decision is the one with the highest index, whatever the input order', () => {
    const e1 = entry({
      task_id: 't1',
      sub: A,
      chain: chainABC.slice(0, 1),
      decision: 'deny',
      code: 'POLICY_DENIED',
    });
    const e2 = entry({ task_id: 't1', sub: A, chain: chainABC.slice(0, 1) });
    const g = buildGraph([e2, e1]);
    expect(g.nodes.find((x) => x.id === `agent:${A}`)!.last?.index).toBe(e2.index);
  });
});
