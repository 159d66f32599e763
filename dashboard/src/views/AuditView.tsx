/**
 * Audit timeline: decisions over time (D3 histogram, allow/deny stacked), filters (task, agent, decision, code),
 * the list newest first, a detail panel per entry and "Verify in browser", which fetches the inclusion proof and
 * signed checkpoint and checks both here against the pinned key (../verify.ts).
 */
import * as d3 from 'd3';
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import type { LiveListener } from '../App.js';
import { api, type DecisionEntry } from '../api.js';
import { Empty, ErrorBox, fmtShort, fmtTime, Loading, shortId } from '../components.js';
import { pinnedVerifierKey } from '../settings.js';
import { type DecisionPage, LIFECYCLE_KINDS, type ProofBundle } from '../types.js';
import { type ProofVerdict, verifyProof } from '../verify.js';

type Subscribe = (l: LiveListener) => () => void;

interface Filters {
  task: string;
  agent: string;
  decision: '' | 'allow' | 'deny';
  code: string;
  /** '' = decisions only; `all`; or one lifecycle entry kind (docs/ledger.md §4 "Lifecycle entries"). */
  kind: string;
}
const NO_FILTERS: Filters = { task: '', agent: '', decision: '', code: '', kind: '' };

/** The label a lifecycle entry is shown with, per kind. */
const KIND_LABEL: Record<string, string> = {
  'token.mint': 'token minted',
  'token.delegate': 'token delegated',
  'token.revoke': 'revoked',
  'key.create': 'key created',
  'key.rotate': 'key rotated',
  'key.retire': 'key retired',
  'trust.update': 'trust updated',
  'policy.activate': 'policy activated',
  'sidecar.start': 'sidecar started',
  'sidecar.stop': 'sidecar stopped',
};
const isLifecycle = (e: DecisionEntry): boolean => (LIFECYCLE_KINDS as readonly unknown[]).includes(e.record.kind);
/** Most rows kept in the list (live additions push the oldest out). */
const MAX_ROWS = 1000;

function matches(f: Filters, e: DecisionEntry): boolean {
  const r = e.record;
  if (f.task && r.task_id !== f.task) return false;
  if (f.agent && r.sub !== f.agent && !(r.chain ?? []).some((h) => h.sub === f.agent)) return false;
  if (f.decision && r.decision !== f.decision) return false;
  if (f.code && r.code !== f.code) return false;
  if (f.kind && f.kind !== 'all' && (r.kind ?? 'decision') !== f.kind) return false;
  return true;
}

/** The audit timeline view; `subscribe` delivers live decisions. */
export function AuditView({ subscribe }: { subscribe: Subscribe }) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [items, setItems] = useState<DecisionEntry[]>();
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<unknown>();
  const [selected, setSelected] = useState<DecisionEntry>();
  const [fresh, setFresh] = useState(new Set<number>());
  // Decisions the server did not stream live (rate cap on a busy sidecar).
  const [missed, setMissed] = useState(0);

  const query = useCallback(
    (before?: number) => {
      const q = new URLSearchParams({ limit: '200' });
      for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
      if (before !== undefined) q.set('before', String(before));
      return api<DecisionPage>(`/api/decisions?${q}`);
    },
    [filters],
  );

  const load = useCallback(() => {
    setError(undefined);
    setItems(undefined);
    setMissed(0);
    query()
      .then((p) => {
        setItems(p.items);
        setNext(p.next_before);
      })
      .catch(setError);
  }, [query]);
  useEffect(load, [load]);

  useEffect(
    () =>
      subscribe((ev) => {
        if (ev.kind === 'skipped') {
          setMissed((m) => m + ev.count);
          return;
        }
        const e = ev.entry;
        if (!matches(filters, e)) return;
        setItems((cur) => {
          if (!cur || cur.some((x) => x.index === e.index)) return cur;
          const next = [e, ...cur];
          if (next.length <= MAX_ROWS) return next;
          // Keep the page bounded on a busy sidecar; "Load older" continues from the last row kept.
          const kept = next.slice(0, MAX_ROWS);
          setNext(kept[kept.length - 1]!.index);
          return kept;
        });
        setFresh((s) => (s.size >= MAX_ROWS ? new Set([e.index]) : new Set(s).add(e.index)));
      }),
    [subscribe, filters],
  );

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters({ ...draft, task: draft.task.trim(), agent: draft.agent.trim(), code: draft.code.trim() });
  };

  const more = () => {
    if (next === null) return;
    query(next)
      .then((p) => {
        setItems((cur) => [...(cur ?? []), ...p.items]);
        setNext(p.next_before);
      })
      .catch(setError);
  };

  const filtered = Object.values(filters).some(Boolean);

  return (
    <div className="audit">
      <form className="card filters" onSubmit={apply} aria-label="Filters">
        <div className="field">
          <label htmlFor="f-task">Task</label>
          <input id="f-task" value={draft.task} onChange={(e) => setDraft({ ...draft, task: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="f-agent">Agent (SPIFFE ID)</label>
          <input
            id="f-agent"
            className="mono"
            value={draft.agent}
            placeholder="spiffe://sigil.mesh/agent/…"
            onChange={(e) => setDraft({ ...draft, agent: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="f-decision">Decision</label>
          <select
            id="f-decision"
            value={draft.decision}
            onChange={(e) => setDraft({ ...draft, decision: e.target.value as Filters['decision'] })}
          >
            <option value="">any</option>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-kind">Entries</label>
          <select id="f-kind" value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value })}>
            <option value="">decisions</option>
            <option value="all">everything</option>
            {LIFECYCLE_KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-code">Code</label>
          <input
            id="f-code"
            className="mono"
            value={draft.code}
            placeholder="TBIT_EXPIRED"
            onChange={(e) => setDraft({ ...draft, code: e.target.value })}
          />
        </div>
        <div className="field actions">
          <button type="submit">Apply</button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setDraft(NO_FILTERS);
              setFilters(NO_FILTERS);
            }}
          >
            Reset
          </button>
        </div>
      </form>
      {error !== undefined ? (
        <ErrorBox error={error} retry={load} />
      ) : !items ? (
        <Loading what="decisions" />
      ) : items.length === 0 ? (
        <Empty>
          {filtered
            ? 'No decision matches these filters. Loosen them or press Reset.'
            : 'The log is empty. Decisions appear here live as Envoy sends Check requests (try `sigil demo`).'}
        </Empty>
      ) : (
        <>
          {missed > 0 && (
            <div className="state state-empty" role="status">
              {missed} more decisions arrived faster than they are shown live.{' '}
              <button type="button" className="link" onClick={load}>
                Refresh the list
              </button>
            </div>
          )}
          <Timeline items={items} />
          <div className="split audit-split">
            <div className="card table-card">
              <div className="table-wrap tall">
                <table className="decisions" data-testid="decisions">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>time</th>
                      <th>decision</th>
                      <th>code</th>
                      <th>agent</th>
                      <th>task</th>
                      <th>tool</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((e) => (
                      <tr
                        key={e.index}
                        data-index={e.index}
                        tabIndex={0}
                        aria-selected={selected?.index === e.index}
                        className={[
                          selected?.index === e.index ? 'selected' : '',
                          fresh.has(e.index) ? 'fresh' : '',
                        ].join(' ')}
                        onClick={() => setSelected(e)}
                        onKeyDown={(ev) => {
                          if (ev.key === 'Enter' || ev.key === ' ') {
                            ev.preventDefault();
                            setSelected(e);
                          }
                        }}
                      >
                        <td>{e.index}</td>
                        <td className="nowrap" title={fmtTime(e.record.ts)}>
                          {fmtShort(e.record.ts)}
                        </td>
                        <td>
                          {isLifecycle(e) ? (
                            <span className="pill lifecycle" data-kind={e.record.kind}>
                              {KIND_LABEL[e.record.kind as string]}
                            </span>
                          ) : (
                            <span className={`pill ${e.record.decision}`}>{e.record.decision}</span>
                          )}
                        </td>
                        <td className="mono nowrap">
                          {isLifecycle(e) ? e.record.kind : e.record.code}
                          {e.record.count !== undefined && (
                            <span title={`${e.record.kind}: ${e.record.count} unauthenticated denies`}>
                              {' '}
                              ×{e.record.count}
                            </span>
                          )}
                        </td>
                        <td title={e.record.sub}>{e.record.sub ? shortId(e.record.sub) : '—'}</td>
                        <td className="mono">{e.record.task_id ?? '—'}</td>
                        <td className="mono">{e.record.tool ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {next !== null && (
                <button type="button" className="secondary" onClick={more}>
                  Load older
                </button>
              )}
            </div>
            <aside className="card detail" aria-live="polite">
              {selected ? (
                <Detail key={selected.index} entry={selected} />
              ) : (
                <p className="hint">Select a decision (click, or Tab to a row and press Enter) to see it and verify it.</p>
              )}
            </aside>
          </div>
        </>
      )}
    </div>
  );
}

function Detail({ entry }: { entry: DecisionEntry }) {
  const r = entry.record;
  const [verdict, setVerdict] = useState<ProofVerdict>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const verify = async () => {
    setBusy(true);
    setVerdict(undefined);
    setError(undefined);
    try {
      const bundle = await api<ProofBundle>(`/api/proof/${entry.index}`);
      setVerdict(verifyProof(bundle, r, pinnedVerifierKey()));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const lifecycle = isLifecycle(entry);
  const rows: [string, string | number | undefined][] = lifecycle
    ? [
        ['entry', entry.index],
        ['time', fmtTime(r.ts)],
        ...Object.entries(r)
          .filter(([k]) => k !== 'ts' && k !== 'v')
          .map(([k, v]): [string, string] => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
      ]
    : [
    ['entry', entry.index],
    ['decision id', r.id],
    ['time', fmtTime(r.ts)],
    ['decision', r.decision],
    ['code', r.code],
    ['HTTP status', r.http_status],
    ['agent', r.sub],
    ['task', r.task_id],
    ['tool', r.tool],
    ['depth', r.depth],
    ['request', r.method ? `${r.method} ${r.host ?? ''}${r.path ?? ''}` : undefined],
    ['peer', r.peer],
    ['token SHA-256', r.token_hash],
    ['policy', r.policy_rev],
    // Entries counting unauthenticated denies (docs/ledger.md §4 "Entry kinds"): `time` is the first one's.
    ['entry kind', r.kind],
    ['denies counted', r.count],
    ['last', r.last_ts !== undefined ? fmtTime(r.last_ts) : undefined],
    ['window', r.window_ms !== undefined ? `${r.window_ms} ms` : undefined],
    ['source', r.source],
  ];
  return (
    <>
      <h3>
        {lifecycle ? (
          <>
            Entry #{entry.index}{' '}
            <span className="pill lifecycle">{KIND_LABEL[r.kind as string]}</span>
          </>
        ) : (
          <>
            Decision #{entry.index} <span className={`pill ${r.decision}`}>{r.decision}</span>
          </>
        )}
      </h3>
      <dl className="facts">
        {rows
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => (
            <div key={k} className="fact">
              <dt>{k}</dt>
              <dd className="mono break">{String(v)}</dd>
            </div>
          ))}
      </dl>
      {r.chain && r.chain.length > 0 && (
        <>
          <h4>Verified chain</h4>
          <ol className="chain">
            {r.chain.map((h, i) => (
              <li key={h.jti || i}>
                <span className="mono">{shortId(h.sub)}</span> · <code>{h.tool_scope.join(', ')}</code>
              </li>
            ))}
          </ol>
        </>
      )}
      <div className="row">
        <button type="button" onClick={() => void verify()} disabled={busy} data-testid="verify">
          {busy ? 'Verifying…' : 'Verify in browser'}
        </button>
      </div>
      {error !== undefined && <ErrorBox error={error} retry={() => void verify()} />}
      {verdict && (
        <div className={verdict.ok ? 'verdict ok' : 'verdict bad'} role="status" data-testid="proof-verdict">
          <strong>{verdict.ok ? 'Verified' : 'Verification failed'}</strong>
          <div className="reason">{verdict.reason}</div>
          <ul className="checks">
            {verdict.checks.map((c) => (
              <li key={c.label} className={c.ok ? 'ok-text' : 'bad-text'}>
                {c.ok ? '✓' : '✗'} {c.label}: {c.detail}
              </li>
            ))}
          </ul>
          {verdict.rootHex && <div className="mono small break">root {verdict.rootHex}</div>}
        </div>
      )}
    </>
  );
}

/** Decisions over time, stacked allow/deny per bucket. */
function Timeline({ items }: { items: DecisionEntry[] }) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const width = Math.max(400, el.clientWidth || 900);
    const height = 140;
    const m = { top: 10, right: 16, bottom: 24, left: 36 };
    const ts = items.map((e) => e.record.ts);
    let lo = Math.min(...ts);
    let hi = Math.max(...ts);
    if (hi - lo < 60_000) {
      lo -= 30_000;
      hi += 30_000;
    }
    const x = d3
      .scaleTime()
      .domain([new Date(lo), new Date(hi)])
      .range([m.left, width - m.right]);
    const bins = d3
      .bin<DecisionEntry, Date>()
      .value((e) => new Date(e.record.ts))
      .domain(x.domain() as [Date, Date])
      .thresholds(x.ticks(40))(items);
    const stacked = bins.map((b) => ({
      x0: b.x0!,
      x1: b.x1!,
      allow: b.filter((e) => e.record.decision === 'allow').length,
      deny: b.filter((e) => e.record.decision === 'deny').length,
    }));
    const y = d3
      .scaleLinear()
      .domain([0, Math.max(1, d3.max(stacked, (b) => b.allow + b.deny) ?? 1)])
      .nice()
      .range([height - m.bottom, m.top]);
    const svg = d3.select(el);
    svg.selectAll('*').remove();
    svg.attr('viewBox', `0 0 ${width} ${height}`);
    const g = svg.append('g');
    const bw = (b: { x0: Date; x1: Date }) => Math.max(1, x(b.x1) - x(b.x0) - 1);
    g.selectAll('rect.allow')
      .data(stacked)
      .join('rect')
      .attr('class', 'allow')
      .attr('x', (b) => x(b.x0))
      .attr('width', bw)
      .attr('y', (b) => y(b.allow))
      .attr('height', (b) => y(0) - y(b.allow))
      .attr('fill', '#16a34a');
    g.selectAll('rect.deny')
      .data(stacked)
      .join('rect')
      .attr('class', 'deny')
      .attr('x', (b) => x(b.x0))
      .attr('width', bw)
      .attr('y', (b) => y(b.allow + b.deny))
      .attr('height', (b) => y(b.allow) - y(b.allow + b.deny))
      .attr('fill', '#dc2626');
    svg
      .append('g')
      .attr('transform', `translate(0,${height - m.bottom})`)
      .call(d3.axisBottom(x).ticks(6));
    svg.append('g').attr('transform', `translate(${m.left},0)`).call(d3.axisLeft(y).ticks(3));
  }, [items]);
  return (
    <div className="card timeline-card">
      <svg
        ref={ref}
        className="timeline"
        role="img"
        aria-label={`Decisions over time: ${items.filter((e) => e.record.decision === 'allow').length} allowed, ${items.filter((e) => e.record.decision === 'deny').length} denied`}
        height={140}
      />
    </div>
  );
}
