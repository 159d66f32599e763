/**
 * Incremental grid layout of the delegation graph. Every node owns one grid slot (column = chain depth within its
 * task's block, row), so nodes never overlap and placing one costs O(distance to a free slot), not a simulation:
 *
 * - `reset`: a tidy layout from scratch (first load, task filter or grouping change, "Tidy up"). Each task's
 *   spanning tree (primary parents) is a block: leaves take consecutive rows, a parent sits at its children's
 *   middle row. Blocks are stacked in as many side-by-side stacks as best fit the viewport's aspect ratio.
 * - `update`: live data. Placed nodes never move; nodes gone free their slots; each new node takes the free slot
 *   nearest its hint — the slot of the workers it groups or of the group it was expanded from, else beside its
 *   parent (one column right, same row). Selecting never lays out.
 */
import { agentType, type ViewGraph, type ViewNode } from './model.js';

/** Grid pitch in world units (one unit = one CSS pixel at zoom 1). */
export const COL_W = 240;
export const ROW_H = 34;

/** A grid slot. */
export interface Slot {
  col: number;
  row: number;
}

/** Bounds of the placed nodes in world units. */
export interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

/** The layout: node id → slot, kept across updates. */
export class GridLayout {
  readonly #pos = new Map<string, Slot>();
  readonly #taken = new Map<number, Set<number>>();
  /** Last slot of nodes that left the graph (hints for the nodes that replace them). */
  readonly #gone = new Map<string, Slot>();
  /** Base column of each stack of task blocks. */
  #stacks: number[] = [0];

  /** Placed nodes. */
  get size(): number {
    return this.#pos.size;
  }

  /** World position of a node's centre. */
  at(id: string): { x: number; y: number } | undefined {
    const s = this.#pos.get(id);
    return s && { x: s.col * COL_W, y: s.row * ROW_H };
  }

  /** The slot of a node. */
  slot(id: string): Slot | undefined {
    return this.#pos.get(id);
  }

  /** Bounds of all placed nodes, or undefined when none is. */
  bounds(): Bounds | undefined {
    let b: Bounds | undefined;
    for (const s of this.#pos.values()) {
      const x = s.col * COL_W;
      const y = s.row * ROW_H;
      if (!b) b = { minX: x, maxX: x, minY: y, maxY: y };
      else {
        b.minX = Math.min(b.minX, x);
        b.maxX = Math.max(b.maxX, x);
        b.minY = Math.min(b.minY, y);
        b.maxY = Math.max(b.maxY, y);
      }
    }
    return b;
  }

  /** Lays out `g` from scratch; `aspect` (viewport width / height) chooses how many stacks of task blocks. */
  reset(g: ViewGraph, aspect = 1.6): void {
    this.#pos.clear();
    this.#taken.clear();
    this.#gone.clear();
    const children = new Map<string, ViewNode[]>();
    const roots: ViewNode[] = [];
    for (const n of g.nodes) {
      const p = n.parent !== undefined ? g.byId.get(n.parent) : undefined;
      if (n.kind === 'task' || !p) roots.push(n);
      else {
        const l = children.get(p.id);
        if (l) l.push(n);
        else children.set(p.id, [n]);
      }
    }
    const order = (a: ViewNode, b: ViewNode) =>
      a.kind === 'task' ? (b.kind === 'task' ? a.label.localeCompare(b.label) : -1) : b.kind === 'task' ? 1 : a.label.localeCompare(b.label);
    roots.sort(order);
    for (const l of children.values()) l.sort(order);

    // One block per root (task, or an orphan agent): relative rows from a tidy post-order walk.
    const visited = new Set<string>();
    const blocks: { slots: [string, Slot][]; rows: number }[] = [];
    let maxCols = 1;
    for (const r of roots) {
      if (visited.has(r.id)) continue;
      const slots: [string, Slot][] = [];
      let next = 0;
      const walk = (n: ViewNode, col: number): number => {
        visited.add(n.id);
        const rows: number[] = [];
        for (const c of children.get(n.id) ?? []) if (!visited.has(c.id)) rows.push(walk(c, col + 1));
        const row = rows.length === 0 ? next++ : Math.floor((rows[0]! + rows[rows.length - 1]!) / 2);
        slots.push([n.id, { col, row }]);
        maxCols = Math.max(maxCols, col + 1);
        return row;
      };
      walk(r, 0);
      blocks.push({ slots, rows: next });
    }
    // Stacks: try 1…8, keep the count whose bounding box fits a viewport of this aspect at the largest scale.
    const total = blocks.reduce((s, b) => s + b.rows + 1, 0);
    let best = 1;
    let bestScale = 0;
    for (let s = 1; s <= Math.min(8, blocks.length); s++) {
      const w = (s * (maxCols + 1) - 1) * COL_W;
      const h = Math.ceil(total / s) * ROW_H + 2 * ROW_H;
      const scale = Math.min(aspect / w, 1 / h);
      if (scale > bestScale * 1.05) {
        best = s;
        bestScale = scale;
      }
    }
    this.#stacks = Array.from({ length: best }, (_, i) => i * (maxCols + 1));
    const height = Math.ceil(total / best);
    let stack = 0;
    let top = 0;
    for (const b of blocks) {
      if (top > 0 && top + b.rows > height && stack < best - 1) {
        stack++;
        top = 0;
      }
      for (const [id, s] of b.slots) this.#take(id, { col: this.#stacks[stack]! + s.col, row: top + s.row });
      top += b.rows + 1;
    }
  }

  /**
   * Brings the layout up to date with `g` without moving any placed node. Returns the ids placed now.
   */
  update(g: ViewGraph): string[] {
    for (const [id, s] of this.#pos) {
      if (!g.byId.has(id)) {
        this.#pos.delete(id);
        this.#taken.get(s.col)?.delete(s.row);
        this.#gone.set(id, s);
      }
    }
    const fresh = g.nodes.filter((n) => !this.#pos.has(n.id)).sort((a, b) => a.depth - b.depth || a.label.localeCompare(b.label));
    for (const n of fresh) this.#take(n.id, this.#free(this.#hint(n)));
    // Hints are only good for the update right after the node left.
    this.#gone.clear();
    return fresh.map((n) => n.id);
  }

  #hint(n: ViewNode): Slot {
    // A group takes over its members' slots; a worker expanded out of a group starts at the group's slot.
    for (const m of n.members ?? []) {
      const s = this.#gone.get(m);
      if (s) return s;
    }
    if (n.parent !== undefined) {
      const fromGroup = this.#gone.get(`group:${n.parent}|${agentType(n.label)}`);
      if (fromGroup) return fromGroup;
      const p = this.#pos.get(n.parent);
      if (p) return { col: p.col + 1, row: p.row };
    }
    // A new task (or orphan): below the shortest stack.
    let col = this.#stacks[0] ?? 0;
    let bottom = Number.POSITIVE_INFINITY;
    for (const base of this.#stacks) {
      let max = -2;
      for (const [c, rows] of this.#taken) if (c >= base && c < base + 11) for (const r of rows) max = Math.max(max, r);
      if (max < bottom) {
        bottom = max;
        col = base + (n.kind === 'task' ? 0 : 1);
      }
    }
    return { col, row: bottom + 2 };
  }

  /** The free slot in `want.col` nearest `want.row` (below first on ties). */
  #free(want: Slot): Slot {
    const rows = this.#taken.get(want.col);
    if (!rows) return want;
    for (let d = 0; ; d++) {
      if (!rows.has(want.row + d)) return { col: want.col, row: want.row + d };
      if (d > 0 && !rows.has(want.row - d)) return { col: want.col, row: want.row - d };
    }
  }

  #take(id: string, s: Slot): void {
    const slot = this.#free(s);
    this.#pos.set(id, slot);
    const rows = this.#taken.get(slot.col);
    if (rows) rows.add(slot.row);
    else this.#taken.set(slot.col, new Set([slot.row]));
  }
}
