/**
 * Route patterns of `authz.routes` / `authz.public_routes` (docs/authz.md §Routes): a path of
 * `/`-separated segments where `*` matches one segment, a trailing `**` matches any rest (including none)
 * and `{name}` matches one segment and captures it for the tool template (e.g. tool `{name}`).
 */

/** A compiled route pattern. */
export interface RoutePattern {
  method: string;
  match(method: string, path: string): Record<string, string> | undefined;
}

const SEG_CHARS = /^[A-Za-z0-9._~!$&'()+,;=:@-]*$/;

/** Compiles a pattern; throws Error for an invalid one (caught as config errors at start-up). */
export function compileRoute(method: string, pattern: string): RoutePattern {
  if (!pattern.startsWith('/')) throw new Error(`route path ${pattern} must start with /`);
  const segs = pattern.split('/').slice(1);
  segs.forEach((s, i) => {
    if (s === '**' && i !== segs.length - 1) throw new Error(`route path ${pattern}: ** only at the end`);
    if (s !== '*' && s !== '**' && !/^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(s) && !SEG_CHARS.test(s)) {
      throw new Error(`route path ${pattern}: bad segment ${s}`);
    }
  });
  const m = method.toUpperCase();
  return {
    method: m,
    match(reqMethod, path) {
      if (m !== '*' && m !== reqMethod) return undefined;
      const parts = path.split('/').slice(1);
      const captures: Record<string, string> = Object.create(null);
      for (let i = 0; i < segs.length; i++) {
        const s = segs[i]!;
        if (s === '**') return captures;
        const p = parts[i];
        if (p === undefined) return undefined;
        if (s === '*') {
          if (p === '') return undefined;
        } else if (s.startsWith('{')) {
          if (p === '') return undefined;
          captures[s.slice(1, -1)] = decodeURIComponentSafe(p);
        } else if (s !== p) return undefined;
      }
      return parts.length === segs.length ? captures : undefined;
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

/** Fills `{name}` placeholders of a tool template from captures. */
export function fillTemplate(tool: string, captures: Record<string, string>): string {
  return tool.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, k: string) => captures[k] ?? '\uFFFD');
}
