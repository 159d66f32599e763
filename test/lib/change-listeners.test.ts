/** Change listeners (docs/workers.md §2): after the current work, coalesced, isolated from each other. */
import { describe, expect, it } from 'vitest';
import { changeListeners } from '../../src/lib/change-listeners.js';

const tick = () => new Promise<void>((r) => queueMicrotask(r));

describe('changeListeners', () => {
  it('runs every listener once per burst of emits, after the emitting code', async () => {
    const l = changeListeners();
    const seen: string[] = [];
    l.add(() => seen.push('a'));
    l.add(() => seen.push('b'));
    l.emit();
    l.emit();
    seen.push('emitter done');
    await tick();
    expect(seen).toEqual(['emitter done', 'a', 'b']);
    l.emit();
    await tick();
    expect(seen).toEqual(['emitter done', 'a', 'b', 'a', 'b']);
  });

  it('keeps calling the others when one throws, and stops calling a removed one', async () => {
    const l = changeListeners();
    let calls = 0;
    l.add(() => {
      throw new Error('listener bug');
    });
    const off = l.add(() => calls++);
    l.emit();
    await tick();
    expect(calls).toBe(1);
    off();
    l.emit();
    await tick();
    expect(calls).toBe(1);
  });
});
