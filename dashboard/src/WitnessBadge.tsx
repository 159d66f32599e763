/**
 * Header badge (docs/witness.md §4): green "witnessed k/n" when the newest cosigned checkpoint meets the policy
 * and no witness alarm is raised, red otherwise; the tooltip lists who vouched and the alarms. Renders nothing
 * when the sidecar has no witnesses configured.
 */
import { useEffect, useState } from 'react';
import { type Badge, witnessBadge } from './witness-badge.js';

/** The badge, refreshed every 10 s. */
export function WitnessBadge() {
  const [badge, setBadge] = useState<Badge>();
  useEffect(() => {
    let stop = false;
    const tick = () =>
      witnessBadge().then(
        (b) => !stop && setBadge(b),
        () => !stop && setBadge(undefined),
      );
    tick();
    const t = setInterval(tick, 10_000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, []);
  if (!badge) return null;
  return (
    <span className={badge.ok ? 'pill allow' : 'pill deny'} title={badge.title} data-testid="witness-badge">
      {badge.text}
    </span>
  );
}
