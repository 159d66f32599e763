/**
 * Change listeners for stores whose state another process mirrors (docs/workers.md §2): `emit()` is called
 * where the store's version grows; listeners run after the current synchronous work, coalesced, so a listener
 * that reads the store (takes a snapshot) never runs in the middle of the store's own update.
 */

/** A set of change listeners. */
export interface ChangeListeners {
  /** Adds `onChange`; returns the function that removes it. */
  add(onChange: () => void): () => void;
  /** Schedules one call of every listener (a microtask; several emits before it run them once). */
  emit(): void;
}

/** Creates an empty {@link ChangeListeners}. A listener that throws does not stop the others. */
export function changeListeners(): ChangeListeners {
  const listeners = new Set<() => void>();
  let pending = false;
  const run = (): void => {
    pending = false;
    for (const l of [...listeners]) {
      try {
        l();
      } catch {
        // A listener's failure is its own (the store's state is unaffected).
      }
    }
  };
  return {
    add(onChange) {
      // A wrapper per subscription, so subscribing the same function twice needs two removals.
      const l = (): void => onChange();
      listeners.add(l);
      return () => {
        listeners.delete(l);
      };
    },
    emit() {
      if (pending || listeners.size === 0) return;
      pending = true;
      queueMicrotask(run);
    },
  };
}
