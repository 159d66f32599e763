/**
 * The graph's SVG, drawn imperatively with D3 in screen space ("semantic zoom"): the zoom transform moves node
 * centres, while node sizes and label fonts stay readable, and labels are re-placed without overlaps after every
 * zoom, pan or data change (labels.ts). Work is coalesced: data changes diff into the keyed D3 joins (enter/exit
 * only what changed) and every redraw request is merged into one requestAnimationFrame. The layout (layout.ts) is
 * incremental, so live data never moves a placed node and the user's zoom/pan is never reset; selection only
 * toggles classes. Diagnostics for tests and the bench are on the SVG's data-* attributes (layout/render ms,
 * draws, coalesced requests, the zoom transform).
 */
import * as d3 from 'd3';
import { type Ref, useCallback, useEffect, useImperativeHandle, useRef } from 'react';
import { shortId } from '../components.js';
import { placeLabels, type Box, type LabelCandidate } from './labels.js';
import { COL_W, GridLayout, ROW_H } from './layout.js';
import type { ViewEdge, ViewGraph, ViewNode } from './model.js';

/** What the view can ask of the canvas. */
export interface CanvasHandle {
  /** Zooms so every node is inside the view. */
  fit(): void;
  /** Centres a node (zooming in if the view is far out). */
  focus(id: string): void;
}

/** Node fill: task indigo; agents by their last decision (allow green, deny red, only delegated grey). */
export function colourOf(n: Pick<ViewNode, 'kind' | 'last'>): string {
  if (n.kind === 'task') return '#6366f1';
  return !n.last ? '#6b7280' : n.last.decision === 'allow' ? '#16a34a' : '#dc2626';
}

const FONT_PX = 12;
const LABEL_H = 16;
const EDGE_FONT_PX = 11;

interface Props {
  view: ViewGraph;
  /** A new key lays out from scratch and fits (task filter, grouping, "Tidy up"). */
  layoutKey: string;
  selected: string | undefined;
  chain: { nodes: Set<string>; edges: Set<string> } | undefined;
  onSelect: (id: string) => void;
  onExpand: (groupId: string) => void;
  ref?: Ref<CanvasHandle>;
}

/** Label texts of a node: full, then abbreviated. */
function nodeTexts(n: ViewNode): string[] {
  if (n.kind === 'task') return n.label.length > 16 ? [n.label, `${n.label.slice(0, 14)}…`] : [n.label];
  const short = shortId(n.label);
  const tail = short.split('/').slice(-2).join('/');
  if (n.kind === 'group') {
    const count = ` ×${n.members?.length ?? 0}`;
    return [`${short}${count}`, `${tail}${count}`];
  }
  return short === tail ? [short] : [short, tail];
}

function edgeText(e: ViewEdge): string {
  const t = e.kind === 'unverified' ? 'unverified' : e.scope.join(', ');
  return t.length > 36 ? `${t.slice(0, 35)}…` : t;
}

/** The delegation graph canvas. */
export function GraphCanvas({ view, layoutKey, selected, chain, onSelect, onExpand, ref }: Props) {
  const wrapRef = useRef<HTMLDivElement>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const st = useRef({
    layout: new GridLayout(),
    key: '',
    t: d3.zoomIdentity,
    w: 900,
    h: 600,
    frame: 0,
    draws: 0,
    requests: 0,
    frames: 0,
    widths: new Map<string, number>(),
    ctx: undefined as CanvasRenderingContext2D | null | undefined,
    font: '',
    zoom: undefined as d3.ZoomBehavior<SVGSVGElement, unknown> | undefined,
    view,
    selected,
    chain,
  });
  st.current.view = view;
  st.current.selected = selected;
  st.current.chain = chain;
  const handlers = useRef({ onSelect, onExpand });
  handlers.current = { onSelect, onExpand };

  const measure = useCallback((text: string, px: number, weight: number): number => {
    const s = st.current;
    const key = `${px}|${weight}|${text}`;
    let w = s.widths.get(key);
    if (w === undefined) {
      if (s.ctx === undefined) {
        s.ctx = document.createElement('canvas').getContext('2d');
        s.font = getComputedStyle(svgRef.current ?? document.body).fontFamily || 'sans-serif';
      }
      if (s.ctx) {
        s.ctx.font = `${weight} ${px}px ${s.font}`;
        w = Math.ceil(s.ctx.measureText(text).width) + 4;
      } else w = text.length * px * 0.62 + 4;
      s.widths.set(key, w);
    }
    return w;
  }, []);

  /** Positions everything for the current transform and re-places labels. */
  const draw = useCallback(() => {
    const s = st.current;
    const svgEl = svgRef.current;
    if (!svgEl) return;
    const t0 = performance.now();
    s.frame = 0;
    s.draws++;
    const { t, layout } = s;
    const svg = d3.select(svgEl);
    const r = Math.max(3, Math.min(11, ROW_H * t.k * 0.34));
    const pos = new Map<string, [number, number]>();
    for (const n of s.view.nodes) {
      const p = layout.at(n.id);
      if (p) pos.set(n.id, [t.applyX(p.x), t.applyY(p.y)]);
    }
    const nodeSel = svg.select('g.nodes').selectAll<SVGGElement, ViewNode>('g.node');
    nodeSel.attr('transform', (d) => {
      const p = pos.get(d.id) ?? [-99, -99];
      return `translate(${p[0].toFixed(1)},${p[1].toFixed(1)})`;
    });
    nodeSel.select('circle').attr('r', r);
    // Edge widths shrink with the nodes when zoomed far out, so busy edges do not paint over everything.
    const wk = r / 11;
    nodeSel
      .select('rect')
      .attr('x', -r)
      .attr('y', -r)
      .attr('width', 2 * r)
      .attr('height', 2 * r);
    const ends = (d: ViewEdge) => {
      const a = pos.get(d.source) ?? [0, 0];
      const b = pos.get(d.target) ?? [0, 0];
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const len = Math.hypot(dx, dy) || 1;
      const cut = Math.min(r + 2, len / 2);
      return { x1: a[0], y1: a[1], x2: b[0] - (dx / len) * cut, y2: b[1] - (dy / len) * cut };
    };
    const edgeEnds = new Map<string, ReturnType<typeof ends>>();
    svg
      .select('g.links')
      .selectAll<SVGLineElement, ViewEdge>('line')
      .each(function (d) {
        const e = ends(d);
        edgeEnds.set(d.id, e);
        this.setAttribute('x1', e.x1.toFixed(1));
        this.setAttribute('y1', e.y1.toFixed(1));
        this.setAttribute('x2', e.x2.toFixed(1));
        this.setAttribute('y2', e.y2.toFixed(1));
        this.setAttribute('stroke-width', Math.max(0.75, Math.min(4, 1.2 + Math.log2(d.count) * 0.4) * wk).toFixed(2));
      });

    // Labels: chain/selection first, then tasks, then by activity; edge labels last.
    const cands: LabelCandidate[] = [];
    const obstacles: Box[] = [];
    for (const n of s.view.nodes) {
      const p = pos.get(n.id);
      if (!p) continue;
      obstacles.push({ x: p[0] - r, y: p[1] - r, w: 2 * r, h: 2 * r });
      const onChain = s.chain?.nodes.has(n.id) ?? false;
      const weight = n.kind === 'agent' ? 600 : 700;
      cands.push({
        id: n.id,
        spots: [
          { x: p[0] + r + 4, y: p[1], anchor: 'start' },
          { x: p[0] - r, y: p[1] - r - LABEL_H / 2 - 1, anchor: 'start' },
          { x: p[0] - r, y: p[1] + r + LABEL_H / 2 + 1, anchor: 'start' },
        ],
        h: LABEL_H,
        texts: nodeTexts(n).map((text) => ({ text, w: measure(text, FONT_PX, weight) })),
        priority:
          (n.id === s.selected ? 4e9 : 0) + (onChain ? 2e9 : 0) + (n.kind === 'task' ? 1e9 : 0) + n.allow + n.deny,
      });
    }
    for (const e of s.view.edges) {
      const p = edgeEnds.get(e.id);
      if (!p) continue;
      const text = edgeText(e);
      cands.push({
        id: `edge:${e.id}`,
        // Above the edge, clear of a node label on the source's row; a bit along it either way if that is taken.
        spots: [0.55, 0.7, 0.4].map((f) => ({
          x: p.x1 + (p.x2 - p.x1) * f,
          y: p.y1 + (p.y2 - p.y1) * f - 16,
          anchor: 'middle' as const,
        })),
        h: LABEL_H - 2,
        texts: [{ text, w: measure(text, EDGE_FONT_PX, 400) }],
        priority: (s.chain?.edges.has(e.id) ? 1e9 : -1e9) + e.count,
      });
    }
    const placed = placeLabels(cands, { w: s.w, h: s.h }, obstacles);
    svg
      .select('g.node-labels')
      .selectAll<SVGTextElement, ViewNode>('text')
      .each(function (d) {
        const p = placed.get(d.id);
        if (!p) {
          if (this.style.display !== 'none') this.style.display = 'none';
          return;
        }
        if (this.style.display) this.style.display = '';
        if (this.textContent !== p.text) this.textContent = p.text;
        this.setAttribute('x', (p.box.x + 2).toFixed(1));
        this.setAttribute('y', (p.box.y + p.box.h / 2).toFixed(1));
      });
    svg
      .select('g.edge-labels')
      .selectAll<SVGTextElement, ViewEdge>('text')
      .each(function (d) {
        const p = placed.get(`edge:${d.id}`);
        if (!p) {
          if (this.style.display !== 'none') this.style.display = 'none';
          return;
        }
        if (this.style.display) this.style.display = '';
        this.setAttribute('x', (p.box.x + p.box.w / 2).toFixed(1));
        this.setAttribute('y', (p.box.y + p.box.h / 2).toFixed(1));
      });
    svgEl.dataset.renderMs = (performance.now() - t0).toFixed(2);
    svgEl.dataset.draws = String(s.draws);
    svgEl.dataset.labelsShown = String(placed.size);
  }, [measure]);

  /** Asks for a redraw in the next animation frame (many requests, one draw). */
  const schedule = useCallback(() => {
    const s = st.current;
    s.requests++;
    if (s.frame) return;
    s.frame = requestAnimationFrame(() => {
      s.frames++;
      draw();
      // Redraw requests merged into an earlier frame (zoom events, data, selection within one frame).
      if (svgRef.current) svgRef.current.dataset.coalesced = String(s.requests - s.frames);
    });
  }, [draw]);

  const fit = useCallback(() => {
    const s = st.current;
    const b = s.layout.bounds();
    if (!b || !s.zoom || !svgRef.current) return;
    const m = { l: 30, r: 30 + Math.min(170, s.w * 0.22), t: 28, b: 28 };
    const bw = Math.max(1, b.maxX - b.minX);
    const bh = Math.max(1, b.maxY - b.minY);
    const k = Math.max(0.02, Math.min((s.w - m.l - m.r) / bw, (s.h - m.t - m.b) / bh, 1.4));
    const x = m.l + (s.w - m.l - m.r - bw * k) / 2 - b.minX * k;
    const y = m.t + (s.h - m.t - m.b - bh * k) / 2 - b.minY * k;
    d3.select(svgRef.current).call(s.zoom.transform, d3.zoomIdentity.translate(x, y).scale(k));
  }, []);

  const focus = useCallback((id: string) => {
    const s = st.current;
    const p = s.layout.at(id);
    if (!p || !s.zoom || !svgRef.current) return;
    const k = Math.max(s.t.k, 0.9);
    d3.select(svgRef.current).call(
      s.zoom.transform,
      d3.zoomIdentity.translate(s.w / 2 - p.x * k, s.h / 2 - p.y * k).scale(k),
    );
  }, []);

  useImperativeHandle(ref, () => ({ fit, focus }), [fit, focus]);

  // Mount: layers, zoom behaviour, size tracking (the graph takes the window's remaining height).
  useEffect(() => {
    const svgEl = svgRef.current;
    const wrap = wrapRef.current;
    if (!svgEl || !wrap) return;
    const s = st.current;
    const svg = d3.select(svgEl);
    for (const layer of ['links', 'nodes', 'edge-labels', 'node-labels']) svg.append('g').attr('class', layer);
    s.zoom = d3
      .zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.02, 4])
      .on('zoom', (ev: d3.D3ZoomEvent<SVGSVGElement, unknown>) => {
        s.t = ev.transform;
        svgEl.dataset.transform = `${s.t.x.toFixed(2)},${s.t.y.toFixed(2)},${s.t.k.toFixed(5)}`;
        schedule();
      });
    svg.call(s.zoom).on('dblclick.zoom', null);
    const size = () => {
      const top = wrap.getBoundingClientRect().top + window.scrollY;
      const h = Math.max(320, Math.floor(window.innerHeight - top - 14));
      wrap.style.height = `${h}px`;
      s.w = Math.max(200, svgEl.clientWidth);
      s.h = Math.max(200, svgEl.clientHeight || h);
      schedule();
    };
    size();
    const ro = new ResizeObserver(size);
    ro.observe(wrap);
    window.addEventListener('resize', size);
    return () => {
      ro.disconnect();
      window.removeEventListener('resize', size);
      cancelAnimationFrame(s.frame);
      s.frame = 0;
      svg.on('.zoom', null);
      svg.selectAll('*').remove();
    };
  }, [schedule]);

  /** Selection and chain highlight: classes only, no layout. */
  const mark = useCallback(() => {
    const svgEl = svgRef.current;
    if (!svgEl) return;
    const { selected: sel, chain: ch } = st.current;
    const svg = d3.select(svgEl);
    svg
      .select('g.nodes')
      .selectAll<SVGGElement, ViewNode>('g.node')
      .classed('selected', (d) => d.id === sel)
      .classed('on-chain', (d) => ch?.nodes.has(d.id) ?? false)
      .classed('dim', (d) => ch !== undefined && !ch.nodes.has(d.id));
    svg
      .select('g.links')
      .selectAll<SVGLineElement, ViewEdge>('line')
      .classed('on-chain', (d) => ch?.edges.has(d.id) ?? false)
      .classed('dim', (d) => ch !== undefined && !ch.edges.has(d.id));
  }, []);

  // Data: lay out (from scratch only for a new key), diff the elements, draw.
  useEffect(() => {
    const svgEl = svgRef.current;
    if (!svgEl) return;
    const s = st.current;
    const t0 = performance.now();
    const fresh = s.key !== layoutKey;
    if (fresh) {
      s.key = layoutKey;
      s.layout.reset(view, s.w / s.h);
    } else s.layout.update(view);
    svgEl.dataset.layoutMs = (performance.now() - t0).toFixed(2);
    const svg = d3.select(svgEl);
    const link = svg
      .select('g.links')
      .selectAll<SVGLineElement, ViewEdge>('line')
      .data(view.edges, (d) => d.id)
      .join((enter) => {
        const l = enter.append('line');
        l.append('title');
        return l;
      })
      .attr('class', (d) => `edge ${d.kind}`)
      .attr('data-edge', (d) => d.id);
    link
      .select('title')
      .text((d) => `${d.kind}: ${d.scope.join(', ') || 'no verified scope'} (seen ${d.count}×)`);
    svg
      .select('g.edge-labels')
      .selectAll<SVGTextElement, ViewEdge>('text')
      .data(view.edges, (d) => d.id)
      .join('text')
      .attr('class', 'edge-label')
      .attr('text-anchor', 'middle')
      .attr('dominant-baseline', 'central')
      .attr('data-edge', (d) => d.id)
      .text(edgeText);
    const node = svg
      .select('g.nodes')
      .selectAll<SVGGElement, ViewNode>('g.node')
      .data(view.nodes, (d) => d.id)
      .join((enter) => {
        const g = enter
          .append('g')
          .attr('tabindex', 0)
          .attr('role', 'button')
          .attr('data-node', (d) => d.id)
          .on('click', (_ev, d) => (d.kind === 'group' ? handlers.current.onExpand(d.id) : handlers.current.onSelect(d.id)))
          .on('keydown', (ev: KeyboardEvent, d) => {
            if (ev.key !== 'Enter' && ev.key !== ' ') return;
            ev.preventDefault();
            if (d.kind === 'group') handlers.current.onExpand(d.id);
            else handlers.current.onSelect(d.id);
          });
        g.filter((d) => d.kind === 'task').append('rect').attr('rx', 4);
        g.filter((d) => d.kind !== 'task').append('circle');
        g.append('title');
        return g;
      })
      .attr('class', (d) => `node ${d.kind}`)
      .attr('data-slot', (d) => {
        const p = s.layout.slot(d.id);
        return p ? `${p.col},${p.row}` : '';
      })
      .attr(
        'aria-label',
        (d) =>
          `${d.kind === 'group' ? `group of ${d.members?.length} workers` : d.kind} ${d.label}: ${d.allow} allowed, ${d.deny} denied${d.kind === 'group' ? ' (press Enter to expand)' : ''}`,
      );
    node.select('circle').attr('fill', colourOf);
    node.select('rect').attr('fill', colourOf);
    node
      .select('title')
      .text(
        (d) =>
          `${d.label}${d.members ? ` (${d.members.length} workers, click to expand)` : ''}\n${d.allow} allowed, ${d.deny} denied`,
      );
    svg
      .select('g.node-labels')
      .selectAll<SVGTextElement, ViewNode>('text')
      .data(view.nodes, (d) => d.id)
      .join('text')
      .attr('class', (d) => `node-label ${d.kind}`)
      .attr('dominant-baseline', 'central')
      .attr('data-node', (d) => d.id);
    if (fresh) fit();
    // Selection classes for nodes that just entered.
    mark();
    draw();
    svgEl.dataset.renderMs = (performance.now() - t0).toFixed(2);
  }, [view, layoutKey, draw, fit, mark]);

  useEffect(() => {
    mark();
    schedule();
  }, [selected, chain, mark, schedule]);

  return (
    <div className="card graph-card" ref={wrapRef}>
      <svg
        ref={svgRef}
        className="graph"
        role="group"
        aria-label="Delegation graph: scroll or pinch to zoom, drag to pan"
        data-testid="graph"
        data-col={COL_W}
      />
    </div>
  );
}
