/**
 * json.patch and json.marshal_with_options host builtins (OPA topdown/json.go, encoding.go).
 *
 * json.patch applies RFC 6902 operations the way OPA's edit tree does: paths are RFC 6901 pointers with every
 * leading `/` trimmed (so `a` and `//a` both mean `/a`) or arrays of segments; array indices are decimal with an
 * optional `+`, no leading zero, `-` appends; any failing operation makes the result undefined.
 */
import { goJsonMarshal, isObject, valuesEqual } from './go-value.js';
import type { HostBuiltin } from './host.js';

type Seg = string | number;

/** OPA's parsePath: a pointer string or an array of segments; undefined otherwise. */
function parsePath(p: unknown): Seg[] | undefined {
  if (Array.isArray(p)) return p.every((s) => typeof s === 'string' || typeof s === 'number') ? p : undefined;
  if (typeof p !== 'string') return undefined;
  if (p === '') return [];
  return p
    .replace(/^\/+/, '')
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** An array index segment; `allowEnd` admits len (add) and `-`. */
function index(seg: Seg, len: number, allowEnd: boolean): number | undefined {
  let i: number;
  if (typeof seg === 'number') i = seg;
  else if (seg === '-') i = len;
  else if (/^\+?[0-9]+$/.test(seg) && !/^0./.test(seg)) i = Number(seg);
  else return undefined;
  return Number.isInteger(i) && i >= 0 && (i < len || (allowEnd && i === len)) ? i : undefined;
}

const clone = <T>(v: T): T => structuredClone(v);

/** The value at `path`, or undefined. */
function get(doc: unknown, path: Seg[]): { v: unknown } | undefined {
  let cur = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      const i = index(seg, cur.length, false);
      if (i === undefined) return undefined;
      cur = cur[i];
    } else if (isObject(cur) && typeof seg === 'string' && Object.hasOwn(cur, seg)) cur = cur[seg];
    else return undefined;
  }
  return { v: cur };
}

/** `doc` with `value` added at `path` (RFC 6902 §4.1), or undefined. */
function add(doc: unknown, path: Seg[], value: unknown): { v: unknown } | undefined {
  if (path.length === 0) return { v: value };
  const parent = get(doc, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (!parent) return undefined;
  if (Array.isArray(parent.v)) {
    const i = index(last, parent.v.length, true);
    if (i === undefined) return undefined;
    parent.v.splice(i, 0, value);
  } else if (isObject(parent.v) && typeof last === 'string') parent.v[last] = value;
  else return undefined;
  return { v: doc };
}

/** `doc` without the value at `path` (RFC 6902 §4.2), or undefined; removing the root is refused (OPA panics). */
function remove(doc: unknown, path: Seg[]): { v: unknown } | undefined {
  if (path.length === 0) return undefined;
  const parent = get(doc, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (!parent) return undefined;
  if (Array.isArray(parent.v)) {
    const i = index(last, parent.v.length, false);
    if (i === undefined) return undefined;
    parent.v.splice(i, 1);
  } else if (isObject(parent.v) && typeof last === 'string' && Object.hasOwn(parent.v, last))
    delete parent.v[last];
  else return undefined;
  return { v: doc };
}

/** One operation; undefined when it fails. */
function apply(doc: unknown, op: unknown): { v: unknown } | undefined {
  if (!isObject(op) || typeof op.op !== 'string') return undefined;
  const needs = (k: string) => Object.hasOwn(op, k);
  if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op.op) || !needs('path'))
    return undefined;
  const path = parsePath(op.path);
  if (!path) return undefined;
  if (['add', 'replace', 'test'].includes(op.op) && !needs('value')) return undefined;
  if (['move', 'copy'].includes(op.op) && !needs('from')) return undefined;
  switch (op.op) {
    case 'add':
      return add(doc, path, clone(op.value));
    case 'remove':
      return remove(doc, path);
    case 'replace': {
      if (path.length === 0) return get(doc, path) && { v: clone(op.value) };
      const r = remove(doc, path);
      return r && add(r.v, path, clone(op.value));
    }
    case 'move':
    case 'copy': {
      const from = parsePath(op.from);
      const chunk = from && get(doc, from);
      if (!from || !chunk) return undefined;
      const value = clone(chunk.v);
      const r = op.op === 'move' ? remove(doc, from) : { v: doc };
      return r && add(r.v, path, value);
    }
    default: {
      const at = get(doc, path);
      return at && valuesEqual(at.v, op.value) ? { v: doc } : undefined;
    }
  }
}

/** json.patch(doc, ops). */
function patch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) return undefined;
  let cur: { v: unknown } | undefined = { v: clone(doc) };
  for (const op of ops) {
    cur = apply(cur.v, op);
    if (!cur) return undefined;
  }
  return cur.v;
}

/** json.marshal_with_options(x, {pretty, indent, prefix}): `indent`/`prefix` imply pretty unless `pretty` says. */
function marshalWithOptions(x: unknown, opts: unknown): unknown {
  if (!isObject(opts)) return undefined;
  let indent = '\t';
  let prefix = '';
  let implicit = false;
  let pretty: boolean | undefined;
  for (const [k, v] of Object.entries(opts)) {
    if (k === 'prefix' || k === 'indent') {
      if (typeof v !== 'string') return undefined;
      if (k === 'prefix') prefix = v;
      else indent = v;
      implicit = true;
    } else if (k === 'pretty') {
      if (typeof v !== 'boolean') return undefined;
      pretty = v;
    } else return undefined;
  }
  return (pretty ?? implicit) ? prefix + goJsonMarshal(x, prefix, indent) : goJsonMarshal(x);
}

/** json.patch, json.marshal_with_options. */
export function jsonBuiltins(): Record<string, HostBuiltin> {
  return { 'json.patch': patch, 'json.marshal_with_options': marshalWithOptions };
}
