/**
 * Builds the delegation graph the dashboard draws from decision records (docs/dashboard.md, "Graph"):
 * task → root holder → delegate → … following each record's verified chain (src/ledger/record.ts `chain`, root first).
 * Edges carry the scope the child hop was narrowed to. Agent nodes count the decisions where they were the leaf
 * caller. Records whose chain did not verify add no delegation edge: the claimed `sub` of a forged token is shown
 * only as an "unverified" caller of the task, never as a delegate. A chain-less record whose code is not a token
 * failure (TBIT_*) and whose `sub` a verified chain of the same task proved is counted on that holder.
 */
import type { DecisionRecord } from '../../../ledger/browser.js';

/** A node of the graph. */
export interface GraphNode {
  /** `task:<task_id>` or `agent:<spiffe id>`. */
  id: string;
  kind: 'task' | 'agent';
  /** task_id or SPIFFE ID. */
  label: string;
  /** Decisions this node made as the leaf caller (agents) or that ran under it (tasks). */
  allow: number;
  deny: number;
  /** Most recent decision involving the node as caller, if any. */
  last?: { decision: 'allow' | 'deny'; code: string; ts: number; index: number };
}

/** A directed edge of the graph. */
export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** `root`: task → first holder; `delegation`: holder → delegate; `unverified`: task → caller whose chain failed. */
  kind: 'root' | 'delegation' | 'unverified';
  task: string;
  /** The target hop's tool_scope (what the delegation narrowed to); empty for unverified edges. */
  scope: string[];
  /** How many records contained this edge. */
  count: number;
}

/** The whole graph. */
export interface GraphData {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Every task seen, sorted, for the filter box (independent of the filter). */
  tasks: string[];
  /** Records used. */
  records: number;
  /** Records with no task (no or unparseable token): counted, not drawn. */
  unattributed: number;
  /** Decisions read (the window: the newest N of the log), before the task filter. */
  window: number;
  /** Time of the oldest and newest drawn decision (epoch ms), or null when none was drawn. */
  since: number | null;
  until: number | null;
}

/** One ledger entry as the API sees it. */
export interface IndexedRecord {
  index: number;
  record: DecisionRecord;
}

/** Builds the graph from records (any order); when `task` is given only that task's records are drawn. */
export function buildGraph(entries: readonly IndexedRecord[], task?: string): GraphData {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const tasks = new Set<string>();
  let unattributed = 0;
  let used = 0;
  let since: number | null = null;
  let until: number | null = null;
  const sorted = [...entries].sort((a, b) => a.index - b.index);

  const node = (id: string, kind: GraphNode['kind'], label: string): GraphNode => {
    const n = nodes.get(id) ?? { id, kind, label, allow: 0, deny: 0 };
    nodes.set(id, n);
    return n;
  };
  const agent = (sub: string): GraphNode => node(`agent:${sub}`, 'agent', sub);
  const edge = (source: string, target: string, kind: GraphEdge['kind'], t: string, scope: string[]) => {
    const id = `${kind}|${t}|${source}|${target}|${scope.join(',')}`;
    const e = edges.get(id);
    if (e) e.count++;
    else edges.set(id, { id, source, target, kind, task: t, scope: [...scope], count: 1 });
  };
  const count = (n: GraphNode, { index, record: r }: IndexedRecord): void => {
    n[r.decision]++;
    if (!n.last || n.last.index < index) n.last = { decision: r.decision, code: r.code, ts: r.ts, index };
  };

  // Holders proven by some verified chain of their task: a later chain-less deny whose code says the chain itself
  // was fine (e.g. tool not in scope) is counted on that holder instead of drawing an unverified edge.
  const proven = new Set<string>();
  for (const { record: r } of sorted) {
    for (const hop of r.chain ?? []) proven.add(`${r.task_id}\n${hop.sub}`);
  }

  for (const entry of sorted) {
    const r = entry.record;
    const t = r.task_id;
    if (t === undefined || t === '') {
      unattributed++;
      continue;
    }
    tasks.add(t);
    if (task !== undefined && t !== task) continue;
    used++;
    if (since === null || r.ts < since) since = r.ts;
    if (until === null || r.ts > until) until = r.ts;
    const taskId = `task:${t}`;
    count(node(taskId, 'task', t), entry);
    const chain = r.chain ?? [];
    if (chain.length === 0 && r.sub && !r.code.startsWith('TBIT_') && proven.has(`${t}\n${r.sub}`)) {
      count(agent(r.sub), entry);
    } else if (chain.length > 0) {
      let parent = taskId;
      for (const [i, hop] of chain.entries()) {
        const { id } = agent(hop.sub);
        edge(parent, id, i === 0 ? 'root' : 'delegation', t, hop.tool_scope);
        parent = id;
      }
      count(agent(chain[chain.length - 1]!.sub), entry);
    } else if (r.sub) {
      count(agent(r.sub), entry);
      edge(taskId, `agent:${r.sub}`, 'unverified', t, []);
    }
  }
  return {
    nodes: [...nodes.values()],
    edges: [...edges.values()],
    tasks: [...tasks].sort(),
    records: used,
    unattributed,
    window: entries.length,
    since,
    until,
  };
}
