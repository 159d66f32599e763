/**
 * Bounded work before JSON.parse sees a body (issue #18 item 3): a 1 MB body of 500k nested arrays cost
 * JSON.parse up to 730 ms of the only thread, and a flat 1 MB of `[],` or `{},` (333k containers) 50–360 ms.
 * One pass, no recursion, O(n): the nesting depth and the number of nodes JSON.parse would allocate as
 * objects (containers and object members; scalars in arrays are cheap and not counted).
 */

/** What a JSON text exceeds, if anything. */
export type JsonShapeExcess = 'depth' | 'nodes' | undefined;

/**
 * Scans `text` once: 'depth' when containers nest deeper than `maxDepth`, 'nodes' when it holds more than
 * `maxNodes` containers plus object members (a `:` outside strings), else undefined. Valid JSON is not
 * required: the counts are what a parser would at most allocate.
 */
export function jsonShapeExceeds(text: string, maxDepth: number, maxNodes: number): JsonShapeExcess {
  let depth = 0;
  let nodes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string: brackets inside it do not nest.
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return 'depth';
      if (++nodes > maxNodes) return 'nodes';
    } else if (c === 0x3a) {
      if (++nodes > maxNodes) return 'nodes';
    } else if ((c === 0x7d || c === 0x5d) && depth > 0) {
      // Never below 0: stray closers cannot buy room for deeper nesting later.
      depth--;
    }
  }
  return undefined;
}
