/**
 * Delegation graph: task → root holder → delegates, on an incremental grid layout (graph/layout.ts) drawn in
 * screen space (graph/GraphCanvas.tsx). Same-type workers under one parent are folded into one node with a count
 * (click to expand). Live decisions (server-sent events) refetch the graph at most once a second — or not at all
 * while paused — and only new nodes are placed: the user's zoom, pan and selection survive. Edge labels are the
 * scope each delegation narrowed to; agent colour is the last decision it made (green allow, red deny, grey: only
 * delegated).
 */
import { memo, startTransition, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { LiveListener } from '../App.js';
import { api } from '../api.js';
import { Empty, ErrorBox, fmtTime, Loading, shortId } from '../components.js';
import { type CanvasHandle, GraphCanvas } from '../graph/GraphCanvas.js';
import { chainOf, findNode, type ViewEdge, type ViewGraph, type ViewNode, viewGraph } from '../graph/model.js';
import type { GraphData } from '../types.js';

type Subscribe = (l: LiveListener) => () => void;

/** "08:02:11" today, else the date too. */
function clock(ms: number, nowMs = Date.now()): string {
  const full = fmtTime(ms);
  return full.slice(0, 10) === fmtTime(nowMs).slice(0, 10) ? full.slice(11) : full;
}

/** The delegation graph view; `subscribe` delivers live decisions (each triggers a throttled refetch). */
export const GraphView = memo(function GraphView({ subscribe }: { subscribe: Subscribe }) {
  const [task, setTask] = useState('');
  const [data, setData] = useState<GraphData>();
  // The task filter the shown data was fetched with: a new filter lays out afresh when its data arrives.
  const [dataTask, setDataTask] = useState('');
  const [error, setError] = useState<unknown>();
  const [updated, setUpdated] = useState<number>();
  const [selected, setSelected] = useState<string>();
  const [group, setGroup] = useState(true);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [paused, setPaused] = useState(false);
  const [waiting, setWaiting] = useState(0);
  const [tidy, setTidy] = useState(0);
  const [query, setQuery] = useState('');
  const [notFound, setNotFound] = useState<string>();
  const canvas = useRef<CanvasHandle>(null);
  const pendingFocus = useRef<string | undefined>(undefined);

  const load = useCallback(() => {
    const q = task ? `?task=${encodeURIComponent(task)}` : '';
    api<GraphData>(`/api/graph${q}`)
      .then((g) => {
        // A transition: React renders it in slices that yield to input (a click stays instant under load).
        startTransition(() => {
          setData(g);
          setDataTask(task);
          setError(undefined);
          setUpdated(Date.now());
        });
      })
      .catch(setError);
  }, [task]);
  useEffect(load, [load]);

  // Live: batch decisions into at most one refetch per second (trailing, so the last decision always shows). While
  // paused nothing is fetched; the count of decisions waiting is shown, and resuming fetches once.
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const waitingRef = useRef(0);
  useEffect(() => {
    let timer: number | undefined;
    const off = subscribe((e) => {
      if (pausedRef.current) {
        waitingRef.current += e.kind === 'skipped' ? e.count : 1;
        return;
      }
      if (timer !== undefined) return;
      timer = window.setTimeout(() => {
        timer = undefined;
        if (!pausedRef.current) load();
      }, 1000);
    });
    const shown = window.setInterval(() => setWaiting(waitingRef.current), 1000);
    return () => {
      off();
      window.clearTimeout(timer);
      window.clearInterval(shown);
    };
  }, [subscribe, load]);
  const togglePause = () => {
    if (paused) {
      waitingRef.current = 0;
      setWaiting(0);
      load();
    }
    setPaused(!paused);
  };

  const view = useMemo(() => data && viewGraph(data, { group, expanded }), [data, group, expanded]);
  const chain = useMemo(() => (view && selected && view.byId.has(selected) ? chainOf(view, selected) : undefined), [view, selected]);
  const layoutKey = `${dataTask}|${group}|${tidy}`;

  const expand = useCallback((id: string) => {
    setExpanded((s) => new Set(s).add(id));
    setSelected(undefined);
  }, []);

  // Search: select and centre the node (expanding the group it is folded into).
  const find = () => {
    if (!data || !view) return;
    const hit = findNode(data, query);
    if (!hit) {
      setNotFound(query);
      return;
    }
    setNotFound(undefined);
    const g = view.groupOf.get(hit.id);
    if (g) setExpanded((s) => new Set(s).add(g));
    setSelected(hit.id);
    pendingFocus.current = hit.id;
  };
  useEffect(() => {
    const id = pendingFocus.current;
    if (id && view?.byId.has(id)) {
      pendingFocus.current = undefined;
      canvas.current?.focus(id);
    }
  }, [view]);

  const sel = selected ? view?.byId.get(selected) : undefined;
  // Suggestions only for what is typed (at most 30), so a live refetch does not rebuild a long list.
  const ids = useMemo(() => {
    const q = query.trim().toLowerCase();
    if (!data || q.length < 2) return [];
    return data.nodes
      .map((n) => n.label)
      .filter((l) => l.toLowerCase().includes(q))
      .sort()
      .slice(0, 30);
  }, [data, query]);

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
        <form
          className="find"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            find();
          }}
        >
          <label htmlFor="graph-find" className="sr-only">
            Find an agent (SPIFFE ID) or task
          </label>
          <input
            id="graph-find"
            list="graph-ids"
            placeholder="Find agent or task…"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
          <datalist id="graph-ids">
            {ids.map((l) => (
              <option key={l} value={l} />
            ))}
          </datalist>
          <button type="submit" className="secondary">
            Find
          </button>
        </form>
        <button type="button" className="secondary" onClick={() => canvas.current?.fit()}>
          Fit to view
        </button>
        <button type="button" className="secondary" onClick={() => setTidy((n) => n + 1)}>
          Tidy up
        </button>
        <label className="check">
          <input
            type="checkbox"
            checked={group}
            onChange={(e) => {
              setGroup(e.target.checked);
              setExpanded(new Set());
            }}
          />{' '}
          Group same-type workers
        </label>
        <label className="check">
          <input type="checkbox" checked={paused} onChange={togglePause} data-testid="pause-live" /> Pause live
        </label>
        {paused && waiting > 0 && <span className="muted small">{waiting} new decisions waiting</span>}
      </div>
      {notFound !== undefined && (
        <p className="state state-empty" role="status">
          No agent or task matches “{notFound}” in this window.
        </p>
      )}
      {error !== undefined ? (
        <ErrorBox error={error} retry={load} />
      ) : !data || !view ? (
        <Loading what="the delegation graph" />
      ) : data.nodes.length === 0 ? (
        <Empty>
          No decisions with a task yet. Send a request with a TBIT through Envoy (try <code>sigil demo</code>) and it
          appears here live.
          {data.unattributed > 0 && ` (${data.unattributed} decisions had no parsable token.)`}
        </Empty>
      ) : (
        <>
          <p className="window muted small" data-testid="graph-window">
            {windowText(data, task)}
            {updated && ` Updated ${clock(updated)}${paused ? ' (paused)' : ''}.`}
          </p>
          <div className="split graph-split">
            <GraphCanvas
              ref={canvas}
              view={view}
              layoutKey={layoutKey}
              selected={selected}
              chain={chain}
              onSelect={setSelected}
              onExpand={expand}
            />
            <aside className="card node-detail" aria-live="polite">
              {sel ? (
                <NodeDetail n={sel} view={view} onExpand={expand} />
              ) : (
                <p className="hint">
                  Select a node (click, or Tab to it and press Enter) to see its decisions and its chain; a node with
                  ×N stands for N workers of one type (click to expand). Scroll or pinch to zoom, drag to pan.
                </p>
              )}
              <Legend />
            </aside>
          </div>
          <EdgeTable edges={view.edges} view={view} />
        </>
      )}
    </div>
  );
});

/** "Newest 5,000 decisions since 07:02:11 (UTC) to 09:02:10; 2,000 of them in task-x." */
function windowText(d: GraphData, task: string): string {
  if (d.since === null || d.until === null) return `Newest ${d.window} decisions; none in this task.`;
  const n = d.window.toLocaleString('en');
  const part = task ? ` ${d.records.toLocaleString('en')} of them in ${task}.` : '';
  const unattr = d.unattributed ? ` ${d.unattributed} without a token (not drawn).` : '';
  return `Newest ${n} decisions since ${clock(d.since)} to ${clock(d.until)}.${part}${unattr}`;
}

function Legend() {
  return (
    <p className="legend">
      <span className="sw task" /> task <span className="sw allow" /> last call allowed <span className="sw deny" /> last
      call denied <span className="sw idle" /> delegated only <span className="sw group" /> ×N same-type workers{' '}
      <span className="sw-line" /> verified delegation{' '}
      <span className="sw-line dashed" /> unverified caller
    </p>
  );
}

function NodeDetail({ n, view, onExpand }: { n: ViewNode; view: ViewGraph; onExpand: (id: string) => void }) {
  const label = (id: string) => {
    const m = view.byId.get(id);
    return m?.kind === 'task' ? `task ${m.label} (root)` : shortId(m?.label ?? id.replace(/^agent:/, ''));
  };
  const out = view.edges.filter((e) => e.source === n.id);
  const inbound = view.edges.filter((e) => e.target === n.id && e.kind !== 'unverified');
  return (
    <>
      <h3>{n.kind === 'task' ? 'Task' : n.kind === 'group' ? `${n.members?.length} workers` : 'Agent'}</h3>
      <p className="mono break" data-testid="selected-label">
        {n.label}
      </p>
      <p>
        <span className="ok-text">{n.allow} allowed</span> · <span className="bad-text">{n.deny} denied</span>
      </p>
      {n.last && (
        <p>
          Last: <strong>{n.last.decision}</strong> <code>{n.last.code}</code> at {fmtTime(n.last.ts)} (entry #
          {n.last.index})
        </p>
      )}
      {n.kind === 'group' && (
        <button type="button" className="secondary" onClick={() => onExpand(n.id)}>
          Expand
        </button>
      )}
      {inbound.length > 0 && (
        <>
          <h4>Holds, from</h4>
          <ul>
            {inbound.map((e) => (
              <li key={e.id}>
                {label(e.source)}: <code>{e.scope.join(', ')}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      {out.length > 0 && (
        <>
          <h4>Delegated to</h4>
          <ul>
            {out.slice(0, 50).map((e) => (
              <li key={e.id}>
                {label(e.target)}: <code>{e.scope.join(', ') || '—'}</code>
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}

/** The edges as a table; rows are only rendered while it is open (a live refetch then costs nothing here). */
function EdgeTable({ edges, view }: { edges: ViewEdge[]; view: ViewGraph }) {
  const [open, setOpen] = useState(false);
  const label = (id: string) => view.byId.get(id)?.label ?? id;
  return (
    <details className="card" onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>Delegations as a table ({edges.length})</summary>
      {open && (
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
      )}
    </details>
  );
}
