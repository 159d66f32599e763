/**
 * Audit timeline over the whole log: a time range and filters (task, agent, tool, decision, code, kind, token
 * hash, decision id) answered by the server from the ledger's indexes, a D3 histogram of allow/deny the server
 * counts over the range (not the rows loaded), the list newest first with keyboard navigation (↑/↓ between rows,
 * Enter to the detail panel), times in UTC or local time (always labelled), a detail panel per entry with "Verify
 * in browser" (../verify.ts against the pinned key) and "Re-evaluate", and "Verify these entries" for the range.
 */
import * as d3 from 'd3';
import { type FormEvent, type KeyboardEvent, useCallback, useEffect, useRef, useState } from 'react';
import type { LiveListener } from '../App.js';
import { api, type DecisionEntry, postJson } from '../api.js';
import {
  Empty,
  ErrorBox,
  fmtShort,
  fmtTime,
  fromInputTime,
  Loading,
  shortId,
  TimeZoneSwitch,
  toInputTime,
  useTimeZone,
} from '../components.js';
import { pinnedVerifierKey } from '../settings.js';
import {
  type DecisionPage,
  type DecisionRecord,
  LIFECYCLE_KINDS,
  type ProofBundle,
  type Reevaluation,
} from '../types.js';
import { type ProofVerdict, type RangeProofs, type RangeVerdict, verifyProof, verifyRange } from '../verify.js';
import { TRUST_CHECK_EVENT } from './TrustBadge.js';

type Subscribe = (l: LiveListener) => () => void;

interface Filters {
  task: string;
  agent: string;
  decision: '' | 'allow' | 'deny';
  code: string;
  /** '' = decisions only; `all`; or one lifecycle entry kind (docs/ledger.md §4 "Lifecycle entries"). */
  kind: string;
  tool: string;
  token_hash: string;
  id: string;
  /** Epoch ms as text ('' = open). */
  since: string;
  until: string;
}
const NO_FILTERS: Filters = {
  task: '',
  agent: '',
  decision: '',
  code: '',
  kind: '',
  tool: '',
  token_hash: '',
  id: '',
  since: '',
  until: '',
};
/** Range presets, ms back from now. */
const PRESETS: [string, number][] = [
  ['15 min', 15 * 60_000],
  ['1 h', 3600_000],
  ['24 h', 24 * 3600_000],
  ['7 days', 7 * 24 * 3600_000],
];
/** The histogram's range when none is chosen: the last 24 hours. */
const DEFAULT_SPAN = 24 * 3600_000;

/** Bad-signature and other token failures: whatever identity is shown was claimed, not verified. */
const unverified = (r: DecisionRecord): boolean =>
  !(LIFECYCLE_KINDS as readonly unknown[]).includes(r.kind) && typeof r.code === 'string' && r.code.startsWith('TBIT_');

/**
 * What an unverified token claimed (docs/ledger.md §4 "Claimed identities"), field `k` of each claim: one
 * value for a single deny, `value ×count` per distinct claim of an aggregate. Never verified.
 */
function claimedOf(r: DecisionRecord, k: 'sub' | 'task_id' | 'kid' | 'iss'): string | undefined {
  const c = r.claimed;
  if (c === undefined) return undefined;
  if (!Array.isArray(c)) return c[k];
  const parts = c.filter((t) => t[k] !== undefined).map((t) => `${t[k]} ×${t.count}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

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
  if (f.tool && !(r.tool ?? '').split(',').includes(f.tool)) return false;
  if (f.token_hash && r.token_hash !== f.token_hash) return false;
  if (f.id && r.id !== f.id) return false;
  if (f.since && r.ts < Number(f.since)) return false;
  if (f.until && r.ts > Number(f.until)) return false;
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
  const [tz] = useTimeZone();
  const detailRef = useRef<HTMLElement>(null);
  const [range, setRange] = useState<RangeVerdict>();
  const [rangeBusy, setRangeBusy] = useState(false);

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
    const t = (v: string) => v.trim();
    setRange(undefined);
    setFilters({
      ...draft,
      task: t(draft.task),
      agent: t(draft.agent),
      code: t(draft.code),
      tool: t(draft.tool),
      token_hash: t(draft.token_hash),
      id: t(draft.id),
    });
  };
  const preset = (span: number | undefined) => {
    const now = Date.now();
    const next = { ...draft, since: span === undefined ? '' : String(now - span), until: span === undefined ? '' : String(now) };
    setDraft(next);
    setRange(undefined);
    setFilters(next);
  };

  /** ↑/↓ move between rows (selecting them), Enter moves focus to the detail panel. */
  const onRowKey = (ev: KeyboardEvent<HTMLTableRowElement>, e: DecisionEntry) => {
    const row = ev.currentTarget;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const to = (ev.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling) as HTMLElement | null;
      if (to) {
        to.focus();
        const i = Number(to.dataset.index);
        const hit = items?.find((x) => x.index === i);
        if (hit) setSelected(hit);
      }
    } else if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      setSelected(e);
      if (ev.key === 'Enter') window.setTimeout(() => detailRef.current?.focus(), 0);
    }
  };

  const verifyAll = async () => {
    if (!items) return;
    setRangeBusy(true);
    setRange(undefined);
    try {
      const shown = new Map(items.map((e) => [e.index, e.record]));
      const indices = [...shown.keys()];
      const answers: RangeProofs[] = [];
      for (let i = 0; i < indices.length; i += 1000)
        answers.push(await api<RangeProofs>(`/api/proofs?indices=${indices.slice(i, i + 1000).join(',')}`));
      const t0 = performance.now();
      const verdicts = answers.map((a) =>
        verifyRange(a, new Map(a.entries.map((x) => [x.index, shown.get(x.index)!])), pinnedVerifierKey()),
      );
      const failures = verdicts.flatMap((v) => v.failures);
      const first = verdicts[0];
      setRange({
        ok: verdicts.every((v) => v.ok),
        checked: shown.size,
        failures,
        size: first?.size,
        origin: first?.origin,
        reason:
          verdicts.every((v) => v.ok) && first
            ? `all ${shown.size} entries (#${Math.min(...indices)}–#${Math.max(...indices)}) are in the log of size ${first.size} signed by ${first.origin} (${Math.round(performance.now() - t0)} ms in this browser)`
            : verdicts.find((v) => !v.ok)?.reason ?? 'nothing to verify',
      });
      window.dispatchEvent(new Event(TRUST_CHECK_EVENT));
    } catch (e) {
      setRange({ ok: false, checked: 0, failures: [], reason: (e as Error).message });
    } finally {
      setRangeBusy(false);
    }
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
        <div className="field">
          <label htmlFor="f-tool">Tool</label>
          <input id="f-tool" className="mono" value={draft.tool} placeholder="fs.read" onChange={(e) => setDraft({ ...draft, tool: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="f-token">Token SHA-256</label>
          <input id="f-token" className="mono" value={draft.token_hash} onChange={(e) => setDraft({ ...draft, token_hash: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="f-id">Decision id</label>
          <input id="f-id" className="mono" value={draft.id} onChange={(e) => setDraft({ ...draft, id: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="f-since">From ({tz === 'utc' ? 'UTC' : 'local'})</label>
          <input
            id="f-since"
            type="datetime-local"
            value={draft.since ? toInputTime(Number(draft.since), tz) : ''}
            onChange={(e) => setDraft({ ...draft, since: String(fromInputTime(e.target.value, tz) ?? '') })}
          />
        </div>
        <div className="field">
          <label htmlFor="f-until">To ({tz === 'utc' ? 'UTC' : 'local'})</label>
          <input
            id="f-until"
            type="datetime-local"
            value={draft.until ? toInputTime(Number(draft.until), tz) : ''}
            onChange={(e) => {
              const ms = fromInputTime(e.target.value, tz);
              // A minute picked as the end includes that whole minute.
              setDraft({ ...draft, until: ms === undefined ? '' : String(ms + 59_999) });
            }}
          />
        </div>
        <div className="field">
          <span className="label">Range</span>
          <div className="range-presets">
            {PRESETS.map(([label, span]) => (
              <button key={label} type="button" className="secondary" onClick={() => preset(span)}>
                last {label}
              </button>
            ))}
            <button type="button" className="secondary" onClick={() => preset(undefined)}>
              whole log
            </button>
          </div>
        </div>
        <TimeZoneSwitch />
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
          <Histogram filters={filters} />
          <div className="row">
            <button type="button" className="secondary" onClick={() => void verifyAll()} disabled={rangeBusy} data-testid="verify-range">
              {rangeBusy ? 'Verifying…' : `Verify these ${items.length} entries`}
            </button>
          </div>
          {range && (
            <div className={range.ok ? 'verdict ok range-verdict' : 'verdict bad range-verdict'} role="status" data-testid="range-verdict">
              <strong>{range.ok ? 'Range verified' : 'Range verification failed'}</strong>
              <div className="reason">{range.reason}</div>
              {range.failures.length > 0 && (
                <ul className="checks">
                  {range.failures.slice(0, 50).map((f) => (
                    <li key={f.index} className="bad-text">
                      ✗ entry #{f.index}: {f.reason}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
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
                        onKeyDown={(ev) => onRowKey(ev, e)}
                      >
                        <td>{e.index}</td>
                        <td className="nowrap" title={fmtTime(e.record.ts, tz)} data-testid="row-time">
                          {fmtShort(e.record.ts, Date.now(), tz)}
                        </td>
                        <td>
                          {isLifecycle(e) ? (
                            <span className="pill lifecycle" data-kind={e.record.kind}>
                              {KIND_LABEL[e.record.kind as string]}
                            </span>
                          ) : (
                            <span className={`pill ${e.record.decision}`}>{e.record.decision}</span>
                          )}
                          {!isLifecycle(e) && unverified(e.record) && (
                            <span className="badge unverified" data-testid="unverified" title="the token did not verify: any identity shown is what it claimed">
                              unverified
                            </span>
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
                        <td title={e.record.sub ?? claimedOf(e.record, 'sub')}>
                          {e.record.sub ? (
                            shortId(e.record.sub)
                          ) : e.record.claimed ? (
                            <span data-testid="claimed">
                              {shortId(
                                (Array.isArray(e.record.claimed) ? e.record.claimed[0] : e.record.claimed)?.sub ??
                                  claimedOf(e.record, 'task_id') ??
                                  '—',
                              )}
                              {Array.isArray(e.record.claimed) && e.record.claimed.length > 1
                                ? ` +${e.record.claimed.length - 1}`
                                : ''}{' '}
                              <span className="badge unverified">claimed, unverified</span>
                            </span>
                          ) : unverified(e.record) ? (
                            'not recorded'
                          ) : (
                            '—'
                          )}
                        </td>
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
            <aside className="card detail" aria-live="polite" tabIndex={-1} ref={detailRef} data-testid="detail">
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
      // A new checkpoint was seen: check it is consistent with the one this browser verified before.
      window.dispatchEvent(new Event(TRUST_CHECK_EVENT));
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
    [
      unverified(r) || r.claimed ? 'agent (claimed, unverified)' : 'agent',
      r.sub ?? claimedOf(r, 'sub') ?? (unverified(r) ? 'not recorded: the token did not verify' : undefined),
    ],
    ['task', r.task_id],
    ['task (claimed, unverified)', claimedOf(r, 'task_id')],
    ['key id (claimed, unverified)', claimedOf(r, 'kid')],
    ['issuer (claimed, unverified)', claimedOf(r, 'iss')],
    ['other claimed identities', r.claimed_other],
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
      {!lifecycle && <Reevaluate index={entry.index} />}
      {error !== undefined && <ErrorBox error={error} retry={() => void verify()} />}
      {verdict && (
        <div className={verdict.ok ? 'verdict ok' : 'verdict bad'} role="status" data-testid="proof-verdict">
          <strong>
            Entry #{entry.index}: {verdict.ok ? 'Verified' : 'Verification failed'}
          </strong>
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

/** `GET /api/decisions/histogram` answer. */
interface HistogramAnswer {
  since: number;
  until: number;
  bucket_ms: number;
  buckets: { start: number; end: number; allow: number; deny: number; other: number }[];
  total: { allow: number; deny: number; other: number };
  complete: boolean;
  cut_at?: number;
  took_ms: number;
}

/** Allow/deny over the chosen range, counted by the server over the whole log (stacked bars). */
function Histogram({ filters }: { filters: Filters }) {
  const ref = useRef<SVGSVGElement>(null);
  const [h, setH] = useState<HistogramAnswer>();
  const [error, setError] = useState<unknown>();
  const [tz] = useTimeZone();
  useEffect(() => {
    const now = Date.now();
    const until = filters.until ? Number(filters.until) : now;
    const since = filters.since ? Number(filters.since) : Math.max(0, until - DEFAULT_SPAN);
    const q = new URLSearchParams({ since: String(since), until: String(until), buckets: '60' });
    for (const [k, v] of Object.entries(filters)) if (v && k !== 'since' && k !== 'until') q.set(k, v);
    setError(undefined);
    api<HistogramAnswer>(`/api/decisions/histogram?${q}`).then(setH, setError);
  }, [filters]);
  useEffect(() => {
    const el = ref.current;
    if (!el || !h) return;
    const width = Math.max(400, el.clientWidth || 900);
    const height = 140;
    const m = { top: 10, right: 16, bottom: 24, left: 44 };
    const x = d3
      .scaleUtc()
      .domain([new Date(h.since), new Date(h.until + 1)])
      .range([m.left, width - m.right]);
    const y = d3
      .scaleLinear()
      .domain([0, Math.max(1, d3.max(h.buckets, (b) => b.allow + b.deny) ?? 1)])
      .nice()
      .range([height - m.bottom, m.top]);
    const svg = d3.select(el);
    svg.selectAll('*').remove();
    svg.attr('viewBox', `0 0 ${width} ${height}`);
    const g = svg.append('g');
    const bw = (b: { start: number; end: number }) => Math.max(1, x(new Date(b.end)) - x(new Date(b.start)) - 1);
    g.selectAll('rect.allow')
      .data(h.buckets)
      .join('rect')
      .attr('class', 'allow')
      .attr('x', (b) => x(new Date(b.start)))
      .attr('width', bw)
      .attr('y', (b) => y(b.allow))
      .attr('height', (b) => y(0) - y(b.allow))
      .attr('fill', '#15803d')
      .append('title')
      .text((b) => `${fmtTime(b.start, tz)} – ${fmtTime(b.end - 1, tz)}: ${b.allow} allowed, ${b.deny} denied`);
    g.selectAll('rect.deny')
      .data(h.buckets)
      .join('rect')
      .attr('class', 'deny')
      .attr('x', (b) => x(new Date(b.start)))
      .attr('width', bw)
      .attr('y', (b) => y(b.allow + b.deny))
      .attr('height', (b) => y(b.allow) - y(b.allow + b.deny))
      .attr('fill', '#b91c1c');
    // Axis labels in the chosen zone: d3's UTC or local formatting, to match every other time on the page.
    const axis = d3.axisBottom(x).ticks(6);
    if (tz === 'local') axis.tickFormat((d) => d3.timeFormat('%H:%M')(d as Date));
    else axis.tickFormat((d) => d3.utcFormat('%H:%M')(d as Date));
    svg.append('g').attr('transform', `translate(0,${height - m.bottom})`).call(axis);
    svg.append('g').attr('transform', `translate(${m.left},0)`).call(d3.axisLeft(y).ticks(3));
  }, [h, tz]);
  if (error !== undefined) return <ErrorBox error={error} />;
  if (!h) return <Loading what="the histogram" />;
  return (
    <div className="card timeline-card" data-testid="histogram" data-allow={h.total.allow} data-deny={h.total.deny}>
      <div className="hist-meta">
        <span>
          {fmtTime(h.since, tz)} – {fmtTime(h.until, tz)}
        </span>
        <span>
          <strong>{h.total.allow}</strong> allowed · <strong>{h.total.deny}</strong> denied
          {h.total.other > 0 && <> · {h.total.other} lifecycle</>} (whole log, counted by the server in {h.took_ms} ms;{' '}
          {Math.round(h.bucket_ms / 1000)} s per bar)
        </span>
        {!h.complete && (
          <span className="bad-text">
            partial from {fmtTime(h.cut_at ?? h.since, tz)}: narrow the range or use task/agent/decision filters
          </span>
        )}
      </div>
      <svg
        ref={ref}
        className="timeline"
        role="img"
        aria-label={`Decisions from ${fmtTime(h.since, tz)} to ${fmtTime(h.until, tz)}: ${h.total.allow} allowed, ${h.total.deny} denied`}
        height={140}
      />
    </div>
  );
}

/** "Re-evaluate": the recorded decision evaluated again under the policy in force (docs/policy.md §13). */
function Reevaluate({ index }: { index: number }) {
  const [r, setR] = useState<Reevaluation>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    setR(undefined);
    try {
      setR(await postJson<Reevaluation>('/api/policy/reevaluate', { index }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <div className="row">
        <button type="button" className="secondary" onClick={() => void run()} disabled={busy} data-testid="reevaluate">
          {busy ? 'Evaluating…' : 'Re-evaluate under the policy in force'}
        </button>
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      {r && (
        <div className={r.outcome === 'changed' ? 'verdict bad' : 'verdict ok'} role="status" data-testid="reevaluation" data-outcome={r.outcome}>
          <strong>
            Entry #{r.index} under {r.revision}:{' '}
            {r.outcome === 'same'
              ? `same outcome (${r.now} ${r.now_code})`
              : r.outcome === 'changed'
                ? `would now be ${r.now} (${r.now_code}); was ${r.was} (${r.was_code})`
                : r.outcome === 'unevaluable'
                  ? `the policy fails on it (${r.now_code})`
                  : 'not re-evaluated'}
          </strong>
          {r.reason && <div className="reason">{r.reason}</div>}
          {r.was_revision && <div className="small">recorded under {r.was_revision}</div>}
        </div>
      )}
    </>
  );
}
