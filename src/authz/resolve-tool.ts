/**
 * Step 4: which tool(s) the request asks for (docs/authz.md §2): the `tools/call`s of an MCP JSON-RPC body
 * (every call of a batch), the tool header, and the first matching route rule — all of them, in that order.
 */
import { AuthzError } from './errors.js';
import type { RequestView } from './extract-request.js';
import { LIMITS } from './lib/limits.js';
import { mcpTools } from './lib/mcp.js';
import { compileRoute, compileTemplate, type RoutePattern } from './lib/route-pattern.js';

/** A configured route rule (authz.routes). */
export interface RouteRule {
  method: string;
  path: string;
  tool: string;
}

/** Where the tools came from. */
export type ToolSource = 'mcp' | 'header' | 'route' | 'none';

/** Resolved tools. */
export interface ResolvedTools {
  tools: string[];
  source: ToolSource;
}

/** A compiled tool resolver. */
export interface ToolResolver {
  resolve(view: RequestView): ResolvedTools;
  /** True when the request matches authz.public_routes. */
  isPublic(view: RequestView): boolean;
}

/** Compiles route rules once; throws Error on a bad pattern (start-up). */
export function toolResolver(opts: {
  toolHeader: string;
  routes: RouteRule[];
  publicRoutes: { method: string; path: string }[];
}): ToolResolver {
  const routes: { p: RoutePattern; tool: (captures: Record<string, string>) => string }[] = opts.routes.map(
    (r) => ({
      p: compileRoute(r.method, r.path),
      tool: compileTemplate(r.tool),
    }),
  );
  const pub = opts.publicRoutes.map((r) => compileRoute(r.method, r.path));
  return {
    isPublic: (view) => pub.some((p) => p.match(view.method, view.path) !== undefined),
    resolve(view) {
      // Every source that names a tool counts, and all of them must then be in scope: a header naming an
      // in-scope tool must not cover a body or route that runs another one. `source` is the first that named one.
      const tools: string[] = [];
      let source: ToolSource = 'none';
      const add = (ts: string[], from: ToolSource) => {
        if (ts.length === 0) return;
        if (source === 'none') source = from;
        for (const t of ts) if (!tools.includes(t)) tools.push(t);
      };
      add(mcpTools(view.body, view.headers['content-type'], view.bodyPartial).tools, 'mcp');
      const header = view.headers[opts.toolHeader];
      if (header !== undefined) {
        const t = header.trim();
        if (t.length === 0 || t.length > LIMITS.maxToolName || t.includes(',')) {
          throw new AuthzError('AUTHZ_BAD_REQUEST', `${opts.toolHeader} must name exactly one tool`);
        }
        add([t], 'header');
      }
      for (const r of routes) {
        const caps = r.p.match(view.method, view.path);
        if (caps !== undefined) {
          add([r.tool(caps)], 'route');
          break;
        }
      }
      return { tools, source };
    },
  };
}
