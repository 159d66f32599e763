/**
 * Route patterns of `authz.routes` / `authz.public_routes` (docs/authz.md §Routes): a path of
 * `/`-separated segments where `*` matches one segment, a trailing `**` matches any rest (including none)
 * and `{name}` matches one segment and captures it for the tool template (e.g. tool `{name}`).
 */

const SEG_CHARS = /^[A-Za-z0-9._~!$&'()+,;=:@-]*$/;

/**
 * Compiles a pattern; `match` gives a matching request's captures, else undefined. Throws Error for an invalid
 * pattern (caught as config errors at start-up).
 */
export function compileRoute(
  method: string,
  pattern: string,
): { match(method: string, path: string): Record<string, string> | undefined } {
  if (!pattern.startsWith('/')) throw new Error(`route path ${pattern} must start with /`);
  const segs = pattern.split('/').slice(1);
  segs.forEach((s, i) => {
    if (s === '**' && i !== segs.length - 1) throw new Error(`route path ${pattern}: ** only at the end`);
    if (s !== '*' && s !== '**' && !/^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(s) && !SEG_CHARS.test(s)) {
      throw new Error(`route path ${pattern}: bad segment ${s}`);
    }
  });
  const m = method.toUpperCase();
  // Per segment, decided once here rather than per request: 0 literal, 1 `*`, 2 `{name}`, 3 trailing `**`.
  const kinds = segs.map((s) => (s === '*' ? 1 : s === '**' ? 3 : s.startsWith('{') ? 2 : 0));
  const names = segs.map((s) => (s.startsWith('{') ? s.slice(1, -1) : s));
  return {
    // Same result as walking path.split('/').slice(1), without building the array (this runs on every Check).
    match(reqMethod, path) {
      if (m !== '*' && m !== reqMethod) return undefined;
      const captures: Record<string, string> = Object.create(null);
      const first = path.indexOf('/');
      let pos = first === -1 ? -1 : first + 1; // start of the next segment; -1 once there is none
      for (let i = 0; i < kinds.length; i++) {
        const kind = kinds[i];
        if (kind === 3) return captures;
        if (pos === -1) return undefined;
        const slash = path.indexOf('/', pos);
        const p = slash === -1 ? path.slice(pos) : path.slice(pos, slash);
        pos = slash === -1 ? -1 : slash + 1;
        if (kind === 0) {
          if (p !== names[i]) return undefined;
        } else {
          if (p === '') return undefined;
          if (kind === 2) captures[names[i]!] = decodeURIComponentSafe(p);
        }
      }
      return pos === -1 ? captures : undefined;
    },
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // An undecodable capture cannot be a valid tool name; the scope check then rejects it.
    return '\uFFFD';
  }
}

/**
 * Compiles a tool template once: the filler replaces each `{name}` by its capture (U+FFFD when there is none)
 * without a regex replace per request.
 */
export function compileTemplate(tool: string): (captures: Record<string, string>) => string {
  // split with a capturing group: [literal, name, literal, name, …, literal]
  const parts = tool.split(/\{([A-Za-z_][A-Za-z0-9_]*)\}/);
  if (parts.length === 1) return () => tool;
  return (captures) => {
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) out += (captures[parts[i]!] ?? '\uFFFD') + parts[i + 1]!;
    return out;
  };
}
