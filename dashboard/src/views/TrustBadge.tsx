/**
 * Header badge of trust over time (../trust.ts): "log verified to size N", or an alarm on a rollback or fork.
 * Checks when mounted, every 20 s, and whenever a view verified something (`TRUST_CHECK_EVENT`).
 */
import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { pinnedVerifierKey } from '../settings.js';
import { checkTrust, type TrustVerdict } from '../trust.js';

/** Fired on `window` to ask for a trust check now (e.g. after a proof was verified). */
export const TRUST_CHECK_EVENT = 'sigil-trust-check';

const source = {
  checkpoint: () => api<{ size: number; note: string }>('/api/checkpoint'),
  consistency: (from: number, to: number) =>
    api<{ from: number; size: number; checkpoint: string; proof: string[] }>(`/api/consistency?from=${from}&to=${to}`),
};

/** The badge; `pinned` changes re-run the check. */
export function TrustBadge() {
  const [v, setV] = useState<TrustVerdict>();
  useEffect(() => {
    let stopped = false;
    let running = false;
    const run = () => {
      if (running) return;
      running = true;
      void checkTrust(source, pinnedVerifierKey())
        .then((r) => !stopped && setV(r))
        .finally(() => {
          running = false;
        });
    };
    run();
    const t = window.setInterval(run, 20_000);
    window.addEventListener(TRUST_CHECK_EVENT, run);
    return () => {
      stopped = true;
      window.clearInterval(t);
      window.removeEventListener(TRUST_CHECK_EVENT, run);
    };
  }, []);
  if (!v) return null;
  if (v.ok)
    return (
      <span className="trust ok" data-testid="trust-size" title={`${v.origin}: consistent with every checkpoint this browser verified`}>
        log verified to size {v.size}
      </span>
    );
  if (v.kind === 'rollback' || v.kind === 'fork' || v.kind === 'signature')
    return (
      <span className="trust alarm" role="alert" data-testid="trust-alarm" data-kind={v.kind}>
        {v.message}
      </span>
    );
  return (
    <span className="trust muted" data-testid="trust-none">
      log not tracked: {v.message}
    </span>
  );
}
