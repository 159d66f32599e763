/**
 * The graph's pure parts (dashboard/src/graph): folding same-type workers, chain highlight, search, the incremental
 * grid layout and label collision avoidance, on graphs built by the real `buildGraph` from the generated mesh.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LabelCandidate, overlaps, placeLabels } from '../../dashboard/src/graph/labels.js';
import { GridLayout } from '../../dashboard/src/graph/layout.js';
import { agentType, chainOf, findNode, viewGraph } from '../../dashboard/src/graph/model.js';
import { buildGraph, type IndexedRecord } from '../../src/admin/api/lib/graph.js';
import { meshPlan } from './support/mesh.js';

const plan = meshPlan();
const entries = (from: number, n: number): IndexedRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    index: from + i,
    record: plan.record(from + i, 1_000_000 + from + i),
  }));
const data = buildGraph(entries(0, 5000));
const none = new Set<string>();

/** Every placed node's slot, and whether two nodes share one. */
function slots(l: GridLayout, ids: string[]): { map: Map<string, string>; clash: boolean } {
  const map = new Map(ids.map((id) => [id, `${l.slot(id)?.col},${l.slot(id)?.row}`]));
  return { map, clash: new Set(map.values()).size !== map.size };
}

describe('viewGraph: folding same-type workers', () => {
  it('folds each lead’s workers into one group with their summed counts; expanding shows them again', () => {
    expect(data.nodes).toHaveLength(215);
    const v = viewGraph(data, { group: true, expanded: none });
    const groups = v.nodes.filter((n) => n.kind === 'group');
    expect(groups).toHaveLength(30);
    expect(v.nodes).toHaveLength(90);
    expect(groups.reduce((s, g) => s + g.members!.length, 0)).toBe(155);
    const g = groups[0]!;
    const members = data.nodes.filter((n) => g.members!.includes(n.id));
    expect(g.allow).toBe(members.reduce((s, m) => s + m.allow, 0));
    expect(g.deny).toBe(members.reduce((s, m) => s + m.deny, 0));
    expect(g.last!.index).toBe(Math.max(...members.map((m) => m.last!.index)));
    // Edges into the members became one edge into the group (counts summed); nothing points at a member.
    const into = v.edges.filter((e) => e.target === g.id && e.kind !== 'unverified');
    expect(into).toHaveLength(1);
    expect(v.edges.some((e) => v.groupOf.has(e.target) || v.groupOf.has(e.source))).toBe(false);
    const open = viewGraph(data, { group: true, expanded: new Set([g.id]) });
    expect(open.nodes).toHaveLength(90 - 1 + g.members!.length);
    expect(viewGraph(data, { group: false, expanded: none }).nodes).toHaveLength(215);
  });

  it('never folds fewer than three, agents with delegates, or IDs without an instance segment', () => {
    expect(agentType('spiffe://td/agent/t1/crawler/4')).toBe('spiffe://td/agent/t1/crawler');
    expect(agentType('spiffe://td/planner')).toBe('spiffe://td/planner');
    const v = viewGraph(data, { group: true, expanded: none });
    // Planners and leads delegate: never folded.
    for (const c of plan.chains.filter((x) => x.hops.length < 3)) {
      expect(v.byId.has(`agent:${c.hops[c.hops.length - 1]!.sub}`)).toBe(true);
    }
    const two = buildGraph(entries(0, 5000).filter((e) => !/crawler\/[3-9]$/.test(e.record.sub ?? '')));
    const v2 = viewGraph(two, { group: true, expanded: none });
    expect(v2.nodes.filter((n) => n.kind === 'group' && n.label.endsWith('crawler/*'))).toHaveLength(0);
  });

  it('the chain of a worker runs back to its task; search finds IDs, folded or not', () => {
    const c = plan.chains.find((x) => x.hops.length === 3)!;
    const v = viewGraph(data, { group: false, expanded: none });
    const leaf = `agent:${c.hops[2]!.sub}`;
    const ch = chainOf(v, leaf);
    for (const id of [`task:${c.task}`, `agent:${c.hops[0]!.sub}`, `agent:${c.hops[1]!.sub}`, leaf]) {
      expect(ch.nodes.has(id), id).toBe(true);
    }
    expect(ch.nodes.has(`task:${plan.tasks.find((t) => t !== c.task)}`)).toBe(false);
    expect(ch.edges.size).toBeGreaterThanOrEqual(3);
    expect(findNode(data, c.hops[2]!.sub)).toEqual({ id: leaf });
    expect(findNode(data, `  ${c.task.toUpperCase()} `)).toEqual({ id: `task:${c.task}` });
    expect(findNode(data, 'researcher/1')?.id).toMatch(/researcher\/1$/);
    expect(findNode(data, 'no-such-agent')).toBeUndefined();
    expect(findNode(data, '   ')).toBeUndefined();
  });
});

describe('GridLayout', () => {
  it('tidy layout: one slot per node, children right of their parents, stacks that suit the viewport', () => {
    for (const group of [true, false]) {
      const v = viewGraph(data, { group, expanded: none });
      const l = new GridLayout();
      const t0 = performance.now();
      l.reset(v, 1.6);
      const ms = performance.now() - t0;
      expect(l.size).toBe(v.nodes.length);
      expect(
        slots(
          l,
          v.nodes.map((n) => n.id),
        ).clash,
      ).toBe(false);
      for (const n of v.nodes) {
        if (n.parent && v.byId.get(n.parent)?.kind !== undefined) {
          expect(l.slot(n.id)!.col, n.id).toBeGreaterThan(l.slot(n.parent)!.col);
        }
      }
      // A 15-task graph is split into side-by-side stacks rather than one very tall column.
      const b = l.bounds()!;
      expect((b.maxX - b.minX) / (b.maxY - b.minY)).toBeGreaterThan(0.5);
      expect(ms).toBeLessThan(50);
    }
  });

  it('update: placed nodes never move; a newcomer sits beside its parent; a group takes its workers’ place', () => {
    const v1 = viewGraph(data, { group: false, expanded: none });
    const l = new GridLayout();
    l.reset(v1);
    const before = slots(
      l,
      v1.nodes.map((n) => n.id),
    ).map;
    // A new worker under an existing lead arrives with later decisions.
    const lead = plan.chains.find((c) => c.hops.length === 2)!;
    const newcomer = `${lead.hops[1]!.sub.replace(/\/[^/]+\/1$/, '')}/auditor/1`;
    const extra: IndexedRecord = {
      index: 5000,
      record: {
        ...plan.record(5000, 2_000_000),
        sub: newcomer,
        task_id: lead.task,
        chain: [...lead.hops, { sub: newcomer, scope: ['fs.read'] }].map((h, d, all) => ({
          sub: h.sub,
          iss: d ? all[d - 1]!.sub : 'iss',
          jti: `x${d}`,
          tool_scope: h.scope,
          exp: 1,
        })),
      },
    };
    const v2 = viewGraph(buildGraph([...entries(0, 5000), extra]), { group: false, expanded: none });
    expect(l.update(v2)).toEqual([`agent:${newcomer}`]);
    for (const [id, s] of before) expect(`${l.slot(id)!.col},${l.slot(id)!.row}`, id).toBe(s);
    const p = l.slot(`agent:${lead.hops[1]!.sub}`)!;
    const s = l.slot(`agent:${newcomer}`)!;
    expect(s.col).toBe(p.col + 1);
    expect(
      slots(
        l,
        v2.nodes.map((n) => n.id),
      ).clash,
    ).toBe(false);
    // Same data again: nothing placed, nothing moved.
    expect(l.update(v2)).toEqual([]);
    // Turning grouping on incrementally: each group lands on one of its workers' former slots.
    const v3 = viewGraph(buildGraph([...entries(0, 5000), extra]), { group: true, expanded: none });
    const old = slots(
      l,
      v2.nodes.map((n) => n.id),
    ).map;
    l.update(v3);
    for (const g of v3.nodes.filter((n) => n.kind === 'group')) {
      expect(g.members!.map((m) => old.get(m))).toContain(`${l.slot(g.id)!.col},${l.slot(g.id)!.row}`);
    }
    expect(
      slots(
        l,
        v3.nodes.map((n) => n.id),
      ).clash,
    ).toBe(false);
    expect(l.size).toBe(v3.nodes.length);
  });
});

describe('placeLabels', () => {
  const cand = (
    id: string,
    x: number,
    y: number,
    w: number,
    priority: number,
    abbrev?: number,
  ): LabelCandidate => ({
    id,
    spots: [{ x, y, anchor: 'start' }],
    h: 16,
    texts: [{ text: `${id}-full`, w }, ...(abbrev ? [{ text: id, w: abbrev }] : [])],
    priority,
  });

  it('higher priority wins a conflict; the loser abbreviates if that fits, else hides; nothing leaves the view', () => {
    const placed = placeLabels(
      [cand('low', 10, 20, 100, 1, 30), cand('high', 60, 20, 100, 2), cand('edge', 380, 50, 100, 3)],
      { w: 400, h: 300 },
    );
    expect(placed.get('high')?.text).toBe('high-full');
    expect(placed.get('low')?.text).toBe('low');
    expect(placed.has('edge')).toBe(false);
    const hidden = placeLabels([cand('a', 10, 20, 100, 1), cand('b', 20, 24, 100, 2)], { w: 400, h: 300 });
    expect([...hidden.keys()]).toEqual(['b']);
    // A node in the way counts as an obstacle; a second spot (above) is used instead.
    const moved = placeLabels(
      [
        {
          ...cand('n', 10, 50, 80, 1),
          spots: [
            { x: 10, y: 50, anchor: 'start' },
            { x: 50, y: 20, anchor: 'middle' },
          ],
        },
      ],
      { w: 400, h: 300 },
      [{ x: 40, y: 45, w: 10, h: 10 }],
    );
    expect(moved.get('n')?.box).toEqual({ x: 10, y: 12, w: 80, h: 16 });
  });

  it('property: placed labels never overlap each other or an obstacle, and stay inside the view', () => {
    const arb = fc.array(
      fc.record({
        x: fc.integer({ min: -50, max: 850 }),
        y: fc.integer({ min: -20, max: 620 }),
        w: fc.integer({ min: 4, max: 220 }),
        p: fc.integer(),
      }),
      { maxLength: 120 },
    );
    const obs = fc.array(
      fc.record({ x: fc.integer({ min: 0, max: 800 }), y: fc.integer({ min: 0, max: 600 }) }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(arb, obs, (cs, os) => {
        const obstacles = os.map((o) => ({ x: o.x, y: o.y, w: 12, h: 12 }));
        const placed = [
          ...placeLabels(
            cs.map((c, i) => cand(`l${i}`, c.x, c.y, c.w, c.p, Math.ceil(c.w / 3))),
            { w: 800, h: 600 },
            obstacles,
          ).values(),
        ].map((p) => p.box);
        for (const [i, a] of placed.entries()) {
          expect(a.x >= 0 && a.y >= 0 && a.x + a.w <= 800 && a.y + a.h <= 600).toBe(true);
          for (const b of placed.slice(i + 1)) expect(overlaps(a, b)).toBe(false);
          for (const o of obstacles) expect(overlaps(a, o)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });
});
