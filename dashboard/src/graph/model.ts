/**
 * What the graph draws, derived from the API's GraphData: same-type leaf workers under one parent folded into one
 * group node with a count (unless expanded), edges redirected to the groups and merged, and each node's primary
 * parent and chain depth (the layout's input). Pure and DOM-free, so it is unit-tested in Node.
 */
import type { GraphData, GraphEdge, GraphNode } from '../types.js';

/** A drawn node: a task, an agent, or a group of same-type workers. */
export interface ViewNode {
  id: string;
  kind: 'task' | 'agent' | 'group';
  /** Full label (task id, SPIFFE ID, or the group's type with `/*`). */
  label: string;
  allow: number;
  deny: number;
  last?: GraphNode['last'];
  /** Member agent ids of a group. */
  members?: string[];
  /** The node the layout places this one next to (first inbound edge), if any. */
  parent?: string;
  /** Chain depth: tasks 0, root holders 1, … (capped at 10). */
  depth: number;
}

/** A drawn edge (group edges merge their members'). */
export interface ViewEdge {
  id: string;
  source: string;
  target: string;
  kind: GraphEdge['kind'];
  task: string;
  scope: string[];
  count: number;
}

/** The drawn graph. */
export interface ViewGraph {
  nodes: ViewNode[];
  edges: ViewEdge[];
  byId: Map<string, ViewNode>;
  /** Agent id → group id for agents folded into a group. */
  groupOf: Map<string, string>;
}

/** Fewest same-type siblings folded into a group. */
export const GROUP_MIN = 3;

/**
 * The "type" of an agent: its SPIFFE ID without the last path segment when there are at least two
 * (`spiffe://td/agent/t1/crawler/4` → `spiffe://td/agent/t1/crawler`); otherwise the ID itself (never grouped).
 */
export function agentType(id: string): string {
  const m = /^(spiffe:\/\/[^/]+\/.+)\/[^/]+$/.exec(id);
  return m?.[1] ?? id;
}

/** Builds the drawn graph; `group` folds workers, `expanded` lists group ids shown unfolded. */
export function viewGraph(data: GraphData, o: { group: boolean; expanded: ReadonlySet<string> }): ViewGraph {
  const parent = new Map<string, string>();
  const hasOut = new Set<string>();
  // Primary parent: the first verified inbound edge; an unverified caller's task only when it has none.
  for (const e of data.edges) {
    if (e.kind === 'unverified') continue;
    hasOut.add(e.source);
    if (!parent.has(e.target)) parent.set(e.target, e.source);
  }
  for (const e of data.edges) if (!parent.has(e.target)) parent.set(e.target, e.source);
  // Leaves under one parent, by type.
  const groupOf = new Map<string, string>();
  const groups = new Map<string, ViewNode>();
  if (o.group) {
    const buckets = new Map<string, GraphNode[]>();
    for (const n of data.nodes) {
      const p = parent.get(n.id);
      if (n.kind !== 'agent' || hasOut.has(n.id) || p === undefined) continue;
      const type = agentType(n.label);
      if (type === n.label) continue;
      const key = `group:${p}|${type}`;
      const b = buckets.get(key);
      if (b) b.push(n);
      else buckets.set(key, [n]);
    }
    for (const [key, members] of buckets) {
      if (members.length < GROUP_MIN || o.expanded.has(key)) continue;
      const type = agentType(members[0]!.label);
      const g: ViewNode = {
        id: key,
        kind: 'group',
        label: `${type}/*`,
        allow: 0,
        deny: 0,
        members: members.map((m) => m.id),
        depth: 0,
      };
      for (const m of members) {
        groupOf.set(m.id, key);
        g.allow += m.allow;
        g.deny += m.deny;
        if (m.last && (!g.last || g.last.index < m.last.index)) g.last = m.last;
      }
      groups.set(key, g);
    }
  }
  const to = (id: string) => groupOf.get(id) ?? id;

  const byId = new Map<string, ViewNode>();
  for (const n of data.nodes) {
    if (groupOf.has(n.id)) continue;
    byId.set(n.id, { id: n.id, kind: n.kind, label: n.label, allow: n.allow, deny: n.deny, last: n.last, depth: 0 });
  }
  for (const g of groups.values()) byId.set(g.id, g);

  const edges = new Map<string, ViewEdge>();
  for (const e of data.edges) {
    const source = to(e.source);
    const target = to(e.target);
    const scope = e.scope.join(',');
    const id = source === e.source && target === e.target ? e.id : `${e.kind}|${e.task}|${source}|${target}|${scope}`;
    const prev = edges.get(id);
    if (prev) prev.count += e.count;
    else edges.set(id, { id, source, target, kind: e.kind, task: e.task, scope: e.scope, count: e.count });
  }
  for (const [child, p] of parent) {
    const n = byId.get(to(child));
    if (n && n.parent === undefined && to(p) !== n.id) n.parent = to(p);
  }

  // Depth: breadth-first from the tasks over verified edges; an unverified caller sits one step right of its task.
  const out = new Map<string, ViewEdge[]>();
  for (const e of edges.values()) {
    const l = out.get(e.source);
    if (l) l.push(e);
    else out.set(e.source, [e]);
  }
  const seen = new Set<string>();
  let frontier = [...byId.values()].filter((n) => n.kind === 'task');
  for (const t of frontier) seen.add(t.id);
  for (let d = 1; frontier.length > 0; d++) {
    const next: ViewNode[] = [];
    for (const n of frontier) {
      for (const e of out.get(n.id) ?? []) {
        const m = byId.get(e.target);
        if (!m || seen.has(m.id) || e.kind === 'unverified') continue;
        seen.add(m.id);
        m.depth = Math.min(d, 10);
        next.push(m);
      }
    }
    frontier = next;
  }
  for (const n of byId.values()) if (!seen.has(n.id) && n.kind !== 'task') n.depth = 1;

  return { nodes: [...byId.values()], edges: [...edges.values()], byId, groupOf };
}

/**
 * The chain of `id`: it and every node on a path from a task to it (following inbound verified edges back), plus
 * the edges between them, for highlighting "this agent's chain".
 */
export function chainOf(g: ViewGraph, id: string): { nodes: Set<string>; edges: Set<string> } {
  const inbound = new Map<string, ViewEdge[]>();
  for (const e of g.edges) {
    const l = inbound.get(e.target);
    if (l) l.push(e);
    else inbound.set(e.target, [e]);
  }
  const nodes = new Set([id]);
  const edges = new Set<string>();
  const queue = [id];
  while (queue.length > 0) {
    const n = queue.pop()!;
    for (const e of inbound.get(n) ?? []) {
      edges.add(e.id);
      if (!nodes.has(e.source)) {
        nodes.add(e.source);
        queue.push(e.source);
      }
    }
  }
  return { nodes, edges };
}

/**
 * Finds the node an operator typed: an exact id or label first, then the first label containing the text
 * (case-insensitive). Agents folded into a group are found too (the caller expands the group, `groupOf`).
 */
export function findNode(data: GraphData, text: string): { id: string } | undefined {
  const q = text.trim().toLowerCase();
  if (!q) return undefined;
  const exact = data.nodes.find((n) => n.id.toLowerCase() === q || n.label.toLowerCase() === q);
  if (exact) return { id: exact.id };
  const part = data.nodes
    .filter((n) => n.label.toLowerCase().includes(q))
    .sort((a, b) => a.label.length - b.label.length || a.label.localeCompare(b.label))[0];
  return part && { id: part.id };
}
