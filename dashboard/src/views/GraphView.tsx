/**
 * Delegation graph: task → root holder → delegates, laid out left to right by chain depth with a D3 force
 * simulation. Edge labels are the scope each delegation narrowed to; agent colour is the last decision it caused
 * (green allow, red deny, grey: only delegated). New decisions (server-sent events) refetch the graph.
 */
import * as d3 from 'd3';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { LiveListener } from '../App.js';
import { api } from '../api.js';
import { Empty, ErrorBox, fmtTime, Loading, shortId } from '../components.js';
import type { GraphData, GraphEdge, GraphNode } from '../types.js';

type Subscribe = (l: LiveListener) => () => void;

/** The delegation graph view; `subscribe` delivers live decisions (each triggers a throttled refetch). */
export function GraphView({ subscribe }: { subscribe: Subscribe }) {
  const [task, setTask] = useState('');
  const [data, setData] = useState<GraphData>();
  const [error, setError] = useState<unknown>();
  const [updated, setUpdated] = useState<number>();
  const [selected, setSelected] = useState<string>();

  const load = useCallback(() => {
    const q = task ? `?task=${encodeURIComponent(task)}` : '';
    api<GraphData>(`/api/graph${q}`)
      .then((g) => {
        setData(g);
        setError(undefined);
        setUpdated(Date.now());
      })
      .catch(setError);
  }, [task]);
  useEffect(load, [load]);

  useEffect(() => {
    let timer: number | undefined;
    const off = subscribe(() => {
      // At most one refetch per second however busy the sidecar is (trailing, so the last decision always shows).
      if (timer !== undefined) return;
      timer = window.setTimeout(() => {
        timer = undefined;
        load();
      }, 1000);
    });
    return () => {
      off();
      window.clearTimeout(timer);
    };
  }, [subscribe, load]);

  const sel = data?.nodes.find((n) => n.id === selected);

  return (
    <div className="graph-view">
      <div className="toolbar">
        <label htmlFor="graph-task">Task</label>
        <select id="graph-task" value={task} onChange={(e) => setTask(e.target.value)}>
          <option value="">All tasks</option>
          {(data?.tasks ?? []).map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <span className="legend">
          <span className="sw task" /> task <span className="sw allow" /> last call allowed{' '}
          <span className="sw deny" /> last call denied <span className="sw idle" /> delegated only{' '}
          <span className="sw-line" /> verified delegation <span className="sw-line dashed" /> unverified caller
        </span>
        {updated && <span className="muted small">updated {fmtTime(updated)}</span>}
      </div>
      {error !== undefined ? (
        <ErrorBox error={error} retry={load} />
      ) : !data ? (
        <Loading what="the delegation graph" />
      ) : data.nodes.length === 0 ? (
        <Empty>
          No decisions with a task yet. Send a request with a TBIT through Envoy (try <code>sigil demo</code>) and it
          appears here live.
          {data.unattributed > 0 && ` (${data.unattributed} decisions had no parsable token.)`}
        </Empty>
      ) : (
        <>
          <div className="split graph-split">
            <ForceGraph data={data} selected={selected} onSelect={setSelected} />
            <aside className="card node-detail" aria-live="polite">
              {sel ? (
                <NodeDetail n={sel} edges={data.edges} />
              ) : (
                <p className="hint">
                  Select a node (click, or Tab to it and press Enter) to see its decisions. Drag to move, scroll to zoom.
                </p>
              )}
              <p className="muted small">
                {data.records} decisions drawn{data.unattributed ? `, ${data.unattributed} without a token` : ''}.
              </p>
            </aside>
          </div>
          <EdgeTable edges={data.edges} nodes={data.nodes} />
        </>
      )}
    </div>
  );
}

function NodeDetail({ n, edges }: { n: GraphNode; edges: GraphEdge[] }) {
  const out = edges.filter((e) => e.source === n.id);
  const inbound = edges.filter((e) => e.target === n.id && e.kind !== 'unverified');
  return (
    <>
      <h3>{n.kind === 'task' ? 'Task' : 'Agent'}</h3>
      <p className="mono break">{n.label}</p>
      <p>
        <span className="ok-text">{n.allow} allowed</span> · <span className="bad-text">{n.deny} denied</span>
      </p>
      {n.last && (
        <p>
          Last: <strong>{n.last.decision}</strong> <code>{n.last.code}</code> at {fmtTime(n.last.ts)} (entry #
          {n.last.index})
        </p>
      )}
      {inbound.length > 0 && (
        <>
          <h4>Holds, from</h4>
          <ul>
            {inbound.map((e) => (
              <li key={e.id}>
                {e.source.startsWith('task:') ? `task ${e.task} (root)` : shortId(e.source.replace(/^agent:/, ''))}:{' '}
                <code>{e.scope.join(', ')}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      {out.length > 0 && (
        <>
          <h4>Delegated to</h4>
          <ul>
            {out.map((e) => (
              <li key={e.id}>
                {shortId(e.target.replace(/^agent:/, ''))}: <code>{e.scope.join(', ') || '—'}</code>
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}

function EdgeTable({ edges, nodes }: { edges: GraphEdge[]; nodes: GraphNode[] }) {
  const label = (id: string) => nodes.find((n) => n.id === id)?.label ?? id;
  return (
    <details className="card">
      <summary>Delegations as a table ({edges.length})</summary>
      <div className="table-wrap">
        <table data-testid="edge-table">
          <thead>
            <tr>
              <th>from</th>
              <th>to</th>
              <th>kind</th>
              <th>scope</th>
              <th>task</th>
              <th>seen</th>
            </tr>
          </thead>
          <tbody>
            {edges.map((e) => (
              <tr key={e.id}>
                <td className="mono">{label(e.source)}</td>
                <td className="mono">{label(e.target)}</td>
                <td>{e.kind}</td>
                <td className="mono">{e.scope.join(', ')}</td>
                <td className="mono">{e.task}</td>
                <td>{e.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

interface SimNode extends d3.SimulationNodeDatum {
  id: string;
  n: GraphNode;
  depth: number;
  lane: number;
}
interface SimLink extends d3.SimulationLinkDatum<SimNode> {
  e: GraphEdge;
}

const HEIGHT = 520;

function ForceGraph({
  data,
  selected,
  onSelect,
}: {
  data: GraphData;
  selected: string | undefined;
  onSelect: (id: string) => void;
}) {
  const svgRef = useRef<SVGSVGElement>(null);
  const positions = useRef(new Map<string, { x: number; y: number }>());
  const layout = useMemo(() => layoutOf(data), [data]);
  // One band per task, at least 170 px each, so several tasks never pile up.
  const height = Math.max(HEIGHT, layout.lanes * 170);

  useEffect(() => {
    const svgEl = svgRef.current;
    if (!svgEl) return;
    const width = Math.max(480, svgEl.clientWidth || 900);
    const maxDepth = Math.max(1, ...layout.depth.values());
    const col = (d: number) => 70 + (d * (width - 200)) / maxDepth;
    const row = (l: number) => ((l + 0.5) * height) / layout.lanes;
    const nodes: SimNode[] = data.nodes.map((n) => {
      const depth = layout.depth.get(n.id) ?? 1;
      const lane = layout.lane.get(n.id) ?? 0;
      const p = positions.current.get(n.id);
      return { id: n.id, n, depth, lane, x: p?.x ?? col(depth), y: p?.y ?? row(lane) + (Math.random() - 0.5) * 40 };
    });
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const links: SimLink[] = data.edges
      .filter((e) => byId.has(e.source) && byId.has(e.target))
      .map((e) => ({ source: e.source, target: e.target, e }));

    const sim = d3
      .forceSimulation<SimNode>(nodes)
      .force(
        'link',
        d3
          .forceLink<SimNode, SimLink>(links)
          .id((d) => d.id)
          .distance(150)
          .strength(0.4),
      )
      .force('charge', d3.forceManyBody<SimNode>().strength(-700))
      .force('x', d3.forceX<SimNode>((d) => col(d.depth)).strength(0.6))
      .force('y', d3.forceY<SimNode>((d) => row(d.lane)).strength(layout.lanes > 1 ? 0.35 : 0.06))
      .force('collide', d3.forceCollide<SimNode>(46))
      .stop();
    // Settle before the first paint so the picture does not jump around (and screenshots are stable).
    for (let i = 0; i < 250; i++) sim.tick();

    const svg = d3.select(svgEl);
    svg.selectAll('*').remove();
    svg.attr('viewBox', `0 0 ${width} ${height}`);
    const defs = svg.append('defs');
    for (const [id, colour] of [
      ['arrow', '#64748b'],
      ['arrow-dashed', '#f59e0b'],
    ] as const) {
      defs
        .append('marker')
        .attr('id', id)
        .attr('viewBox', '0 -5 10 10')
        .attr('refX', 10)
        // Fixed size: with the default strokeWidth units, busy (thicker) edges would get huge arrow heads.
        .attr('markerUnits', 'userSpaceOnUse')
        .attr('markerWidth', 11)
        .attr('markerHeight', 11)
        .attr('orient', 'auto')
        .append('path')
        .attr('d', 'M0,-5L10,0L0,5')
        .attr('fill', colour);
    }
    const root = svg.append('g');
    svg.call(
      d3
        .zoom<SVGSVGElement, unknown>()
        .scaleExtent([0.3, 3])
        .on('zoom', (ev: d3.D3ZoomEvent<SVGSVGElement, unknown>) => root.attr('transform', ev.transform.toString())),
    );

    const link = root
      .append('g')
      .attr('class', 'links')
      .selectAll<SVGLineElement, SimLink>('line')
      .data(links)
      .join('line')
      .attr('class', (d) => `edge ${d.e.kind}`)
      .attr('stroke', (d) => (d.e.kind === 'unverified' ? '#f59e0b' : '#64748b'))
      .attr('stroke-width', (d) => Math.min(1.5 + Math.log2(d.e.count), 5))
      .attr('stroke-dasharray', (d) => (d.e.kind === 'unverified' ? '6 4' : null))
      .attr('marker-end', (d) => (d.e.kind === 'unverified' ? 'url(#arrow-dashed)' : 'url(#arrow)'));
    link.append('title').text((d) => `${d.e.kind}: ${d.e.scope.join(', ') || 'no verified scope'} (seen ${d.e.count}×)`);

    const edgeLabel = root
      .append('g')
      .attr('class', 'edge-labels')
      .selectAll<SVGTextElement, SimLink>('text')
      .data(links)
      .join('text')
      .attr('class', 'edge-label')
      .attr('text-anchor', 'middle')
      .attr('data-edge', (d) => d.e.id)
      .text((d) => (d.e.kind === 'unverified' ? 'unverified' : truncate(d.e.scope.join(', '), 36)));

    const node = root
      .append('g')
      .attr('class', 'nodes')
      .selectAll<SVGGElement, SimNode>('g')
      .data(nodes)
      .join('g')
      .attr('class', (d) => `node ${d.n.kind}${d.id === selected ? ' selected' : ''}`)
      .attr('tabindex', 0)
      .attr('role', 'button')
      .attr('data-node', (d) => d.id)
      .attr('aria-label', (d) => `${d.n.kind} ${d.n.label}: ${d.n.allow} allowed, ${d.n.deny} denied`)
      .on('click', (_ev, d) => onSelect(d.id))
      .on('keydown', (ev: KeyboardEvent, d) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          onSelect(d.id);
        }
      });
    node
      .filter((d) => d.n.kind === 'task')
      .append('rect')
      .attr('x', -16)
      .attr('y', -16)
      .attr('width', 32)
      .attr('height', 32)
      .attr('rx', 6)
      .attr('fill', '#6366f1');
    node
      .filter((d) => d.n.kind === 'agent')
      .append('circle')
      .attr('r', 16)
      .attr('fill', (d) => colourOf(d.n));
    node
      .append('text')
      .attr('class', 'node-label')
      .attr('text-anchor', 'middle')
      .attr('y', 32)
      .text((d) => (d.n.kind === 'task' ? d.n.label : shortId(d.n.label)));
    node
      .append('text')
      .attr('class', 'node-counts')
      .attr('text-anchor', 'middle')
      .attr('y', 46)
      .text((d) => (d.n.allow + d.n.deny > 0 ? `✓${d.n.allow} ✗${d.n.deny}` : ''));
    node.append('title').text((d) => `${d.n.label}\n${d.n.allow} allowed, ${d.n.deny} denied`);

    const draw = () => {
      link
        .attr('x1', (d) => (d.source as SimNode).x!)
        .attr('y1', (d) => (d.source as SimNode).y!)
        .attr('x2', (d) => shorten(d, 20).x)
        .attr('y2', (d) => shorten(d, 20).y);
      edgeLabel
        .attr('x', (d) => ((d.source as SimNode).x! + (d.target as SimNode).x!) / 2)
        .attr('y', (d) => ((d.source as SimNode).y! + (d.target as SimNode).y!) / 2 - 6);
      node.attr('transform', (d) => `translate(${d.x},${d.y})`);
      for (const n of nodes) positions.current.set(n.id, { x: n.x!, y: n.y! });
    };
    draw();
    sim.on('tick', draw);
    node.call(
      d3
        .drag<SVGGElement, SimNode>()
        .on('start', (ev, d) => {
          if (!ev.active) sim.alphaTarget(0.2).restart();
          d.fx = d.x;
          d.fy = d.y;
        })
        .on('drag', (ev, d) => {
          d.fx = ev.x;
          d.fy = ev.y;
        })
        .on('end', (ev, d) => {
          if (!ev.active) sim.alphaTarget(0);
          d.fx = null;
          d.fy = null;
        }),
    );
    return () => {
      sim.stop();
    };
  }, [data, layout, height, selected, onSelect]);

  return (
    <div className="card graph-card">
      <svg ref={svgRef} className="graph" role="img" aria-label="Delegation graph" data-testid="graph" height={height} />
    </div>
  );
}

/**
 * Column (chain depth: tasks 0, root holders 1, …) and lane (which task's band, so tasks do not tangle) of each
 * node, breadth-first over verified edges from every task.
 */
function layoutOf(data: GraphData): { depth: Map<string, number>; lane: Map<string, number>; lanes: number } {
  const depth = new Map<string, number>();
  const lane = new Map<string, number>();
  const queue: string[] = [];
  const tasks = data.nodes.filter((n) => n.kind === 'task');
  tasks.forEach((n, i) => {
    depth.set(n.id, 0);
    lane.set(n.id, i);
    queue.push(n.id);
  });
  while (queue.length) {
    const id = queue.shift()!;
    const d = depth.get(id)!;
    for (const e of data.edges) {
      // Only verified edges give a column: an unverified caller sits one step right of its task.
      if (e.source === id && e.kind !== 'unverified' && !depth.has(e.target)) {
        depth.set(e.target, Math.min(d + 1, 10));
        lane.set(e.target, lane.get(id) ?? 0);
        queue.push(e.target);
      }
    }
  }
  for (const e of data.edges) {
    if (e.kind === 'unverified' && !depth.has(e.target)) {
      depth.set(e.target, 1);
      lane.set(e.target, lane.get(e.source) ?? 0);
    }
  }
  return { depth, lane, lanes: Math.max(1, tasks.length) };
}

function colourOf(n: GraphNode): string {
  if (!n.last) return '#9ca3af';
  return n.last.decision === 'allow' ? '#16a34a' : '#dc2626';
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** End point of a link pulled back by `r` so the arrow head stops at the node's edge. */
function shorten(d: SimLink, r: number): { x: number; y: number } {
  const s = d.source as SimNode;
  const t = d.target as SimNode;
  const dx = t.x! - s.x!;
  const dy = t.y! - s.y!;
  const len = Math.hypot(dx, dy) || 1;
  return { x: t.x! - (dx / len) * r, y: t.y! - (dy / len) * r };
}
