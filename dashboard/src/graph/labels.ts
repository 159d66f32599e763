/**
 * Label collision avoidance in screen space: labels are placed greedily by priority (selected chain, tasks, busy
 * nodes, then edge labels); each tries its full text, then its abbreviation, at each of its spots (right of the
 * node, above, below), and is hidden when none fits without overlapping a label already placed or a node, or
 * without leaving the view. So no two visible labels ever overlap, at any zoom.
 * A uniform grid of buckets keeps it near-linear (a few hundred labels per frame cost well under a millisecond).
 */

/** An axis-aligned box in screen pixels (left, top, width, height). */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where a label may go: left edge (`start`) or centre (`middle`) of the text at `x`; `y` is its vertical centre. */
export interface LabelSpot {
  x: number;
  y: number;
  anchor: 'start' | 'middle';
}

/** A label to place: the spots to try (preferred first), the texts to try (widest first, measured) and priority. */
export interface LabelCandidate {
  id: string;
  spots: LabelSpot[];
  h: number;
  texts: { text: string; w: number }[];
  /** Higher is placed first. */
  priority: number;
}

/** A placed label: which text fits and its box. */
export interface PlacedLabel {
  text: string;
  box: Box;
}

const CELL = 96;

/** Whether two boxes overlap (touching edges do not count). */
export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Places the labels that fit; the others are absent from the answer (hidden). */
export function placeLabels(
  candidates: readonly LabelCandidate[],
  view: { w: number; h: number },
  obstacles: readonly Box[] = [],
): Map<string, PlacedLabel> {
  const grid = new Map<string, Box[]>();
  const cells = (b: Box): string[] => {
    const out: string[] = [];
    for (let cx = Math.floor(b.x / CELL); cx <= Math.floor((b.x + b.w) / CELL); cx++) {
      for (let cy = Math.floor(b.y / CELL); cy <= Math.floor((b.y + b.h) / CELL); cy++) out.push(`${cx},${cy}`);
    }
    return out;
  };
  const free = (b: Box): boolean => cells(b).every((c) => !(grid.get(c) ?? []).some((o) => overlaps(o, b)));
  const add = (b: Box): void => {
    for (const c of cells(b)) {
      const l = grid.get(c);
      if (l) l.push(b);
      else grid.set(c, [b]);
    }
  };
  for (const o of obstacles) if (o.x + o.w >= 0 && o.y + o.h >= 0 && o.x <= view.w && o.y <= view.h) add(o);

  const placed = new Map<string, PlacedLabel>();
  const order = [...candidates].sort((a, b) => b.priority - a.priority);
  for (const c of order) {
    place: for (const t of c.texts) {
      for (const s of c.spots) {
        const box = { x: s.anchor === 'start' ? s.x : s.x - t.w / 2, y: s.y - c.h / 2, w: t.w, h: c.h };
        if (box.x < 0 || box.y < 0 || box.x + box.w > view.w || box.y + box.h > view.h) continue;
        if (!free(box)) continue;
        add(box);
        placed.set(c.id, { text: t.text, box });
        break place;
      }
    }
  }
  return placed;
}
