/**
 * Dashboard shell: header with the live status, a tab list (keyboard: ←/→ between tabs, Tab into the panel) and
 * one view at a time. Views share one live event stream so a new decision updates whichever view is open.
 */
import { type KeyboardEvent, useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, adminToken, adoptTokenFromHash, api, type LiveEvent, login, logout, openEvents } from './api.js';
import type { Status } from './types.js';
import { AuditView } from './views/AuditView.js';
import { GraphView } from './views/GraphView.js';
import { InspectorView } from './views/InspectorView.js';
import { MeshView } from './views/MeshView.js';
import { PolicyView } from './views/PolicyView.js';
import { SettingsView } from './views/SettingsView.js';
import { WitnessBadge } from './WitnessBadge.js';
import { TrustBadge } from './views/TrustBadge.js';

const TABS = [
  { id: 'graph', label: 'Delegation graph' },
  { id: 'inspector', label: 'Token inspector' },
  { id: 'policy', label: 'Policy' },
  { id: 'audit', label: 'Audit timeline' },
  { id: 'mesh', label: 'Mesh' },
  { id: 'settings', label: 'Settings' },
] as const;
type TabId = (typeof TABS)[number]['id'];

adoptTokenFromHash();

function initialTab(): TabId {
  const q = new URLSearchParams(window.location.search).get('view');
  return TABS.some((t) => t.id === q) ? (q as TabId) : 'graph';
}

/** Subscribers of the shared live stream. */
export type LiveListener = (e: LiveEvent) => void;

/** The dashboard: top bar with live status, tab list and the selected view. */
export function App() {
  const [tab, setTab] = useState<TabId>(() => (adminToken() ? initialTab() : 'settings'));
  // A stored token is re-checked (and the event-stream cookie renewed) before any view loads.
  const [session, setSession] = useState<'checking' | 'in' | 'out'>(() => (adminToken() ? 'checking' : 'out'));
  const authed = session === 'in';
  const setAuthed = useCallback((ok: boolean) => setSession(ok ? 'in' : 'out'), []);
  const [live, setLive] = useState(false);
  // Bumped to open a fresh event stream after the previous one closed for good.
  const [streamGen, setStreamGen] = useState(0);
  const [status, setStatus] = useState<Status | undefined>();
  const listeners = useRef(new Set<LiveListener>());
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);

  const subscribe = useCallback((l: LiveListener) => {
    listeners.current.add(l);
    return () => {
      listeners.current.delete(l);
    };
  }, []);

  // A #token= link opened in an already loaded tab is a same-document navigation: adopt it too.
  useEffect(() => {
    const onHash = () => {
      if (adoptTokenFromHash()) {
        setSession('checking');
        setTab(initialTab());
      }
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const t = adminToken();
    if (session !== 'checking' || !t) return;
    login(t)
      .then(() => setSession('in'))
      .catch(() => {
        void logout();
        setSession('out');
        setTab('settings');
      });
  }, [session]);

  useEffect(() => {
    if (!authed) return;
    let stopped = false;
    const refresh = () =>
      api<Status>('/api/status')
        .then((s) => !stopped && setStatus(s))
        .catch(() => undefined);
    void refresh();
    // The header's entry count is re-rendered at most twice a second: a busy sidecar streams hundreds of
    // decisions a second, and one App render per decision would block the main thread.
    let size = 0;
    let sizeTimer: number | undefined;
    const close = openEvents(
      (e) => {
        size = Math.max(size, e.kind === 'decision' ? e.entry.index + 1 : e.size);
        sizeTimer ??= window.setTimeout(() => {
          sizeTimer = undefined;
          setStatus((s) => (s?.ledger && s.ledger.size < size ? { ...s, ledger: { size } } : s));
        }, 500);
        for (const l of listeners.current) l(e);
      },
      (state) => {
        setLive(state === 'live');
        if (state === 'live') void refresh();
        if (state === 'closed') {
          // Renew the session cookie (the server may have restarted), then reconnect; a refused token logs out.
          window.setTimeout(() => {
            const t = adminToken();
            if (stopped || !t) return;
            login(t)
              .then(() => !stopped && setStreamGen((g) => g + 1))
              .catch((e: unknown) => {
                if (stopped) return;
                if (e instanceof ApiError && e.status === 401) {
                  void logout();
                  setSession('out');
                  setTab('settings');
                } else window.setTimeout(() => setStreamGen((g) => g + 1), 5000);
              });
          }, 2000);
        }
      },
    );
    return () => {
      stopped = true;
      window.clearTimeout(sizeTimer);
      close();
    };
  }, [authed, streamGen]);

  const onTabKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const i = TABS.findIndex((t) => t.id === tab);
    const next = (i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length;
    setTab(TABS[next]!.id);
    tabRefs.current[next]?.focus();
  };

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◭
          </span>{' '}
          SIGIL <span className="sub">identity sidecar</span>
        </div>
        <div className="tabs" role="tablist" aria-label="Views" onKeyDown={onTabKey}>
          {TABS.map((t, i) => (
            <button
              key={t.id}
              ref={(el) => {
                tabRefs.current[i] = el;
              }}
              type="button"
              role="tab"
              id={`tab-${t.id}`}
              aria-selected={tab === t.id}
              aria-controls={`panel-${t.id}`}
              tabIndex={tab === t.id ? 0 : -1}
              className={tab === t.id ? 'tab active' : 'tab'}
              onClick={() => setTab(t.id)}
            >
              {t.label}
            </button>
          ))}
        </div>
        <div className="status" aria-live="polite">
          {authed ? (
            <>
              <span className={live ? 'dot live' : 'dot'} aria-hidden="true" />
              <span data-testid="live-state">{live ? 'live' : 'offline'}</span>
              {status?.ledger && <span className="muted"> · {status.ledger.size} entries</span>}
              <WitnessBadge />
              {status?.ledger && <TrustBadge />}
            </>
          ) : (
            <span className="muted">not logged in</span>
          )}
        </div>
      </header>
      <main id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`} className="panel">
        {session === 'checking' ? (
          <div className="state state-loading" role="status">
            Checking the admin token…
          </div>
        ) : !authed && tab !== 'settings' ? (
          <div className="state state-empty">
            Enter the admin token under{' '}
            <button type="button" className="link" onClick={() => setTab('settings')}>
              Settings
            </button>{' '}
            first.
          </div>
        ) : tab === 'graph' ? (
          <GraphView subscribe={subscribe} />
        ) : tab === 'inspector' ? (
          <InspectorView />
        ) : tab === 'policy' ? (
          <PolicyView />
        ) : tab === 'audit' ? (
          <AuditView subscribe={subscribe} />
        ) : tab === 'mesh' ? (
          <MeshView />
        ) : (
          <SettingsView
            authed={authed}
            onAuth={(ok) => {
              setAuthed(ok);
              if (ok) setTab('graph');
            }}
          />
        )}
      </main>
    </div>
  );
}
