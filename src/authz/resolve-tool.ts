/**
 * Step 4: which tool(s) the request asks for, in order (docs/authz.md §Tools): an MCP JSON-RPC
 * `tools/call` body (every call of a batch), else the tool header, else the first matching route rule.
 */
import { AuthzError } from './errors.js';
import type { RequestView } from './extract-request.js';
import { LIMITS } from './lib/limits.js';
import { mcpTools } from './lib/mcp.js';
import { compileRoute, fillTemplate, type RoutePattern } from './lib/route-pattern.js';

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
  const routes: { p: RoutePattern; tool: string }[] = opts.routes.map((r) => ({
    p: compileRoute(r.method, r.path),
    tool: r.tool,
  }));
  const pub = opts.publicRoutes.map((r) => compileRoute(r.method, r.path));
  return {
    isPublic: (view) => pub.some((p) => p.match(view.method, view.path) !== undefined),
    resolve(view) {
      const mcp = mcpTools(view.body, view.headers['content-type'], view.bodyPartial);
      if (mcp.tools.length > 0) return { tools: mcp.tools, source: 'mcp' };
      // A partial body that is not JSON-RPC could hide a call past the cut: only a complete body proves absence.
      const header = view.headers[opts.toolHeader];
      if (header !== undefined) {
        const t = header.trim();
        if (t.length === 0 || t.length > LIMITS.maxToolName || t.includes(',')) {
          throw new AuthzError('AUTHZ_BAD_REQUEST', `${opts.toolHeader} must name exactly one tool`);
        }
        return { tools: [t], source: 'header' };
      }
      for (const r of routes) {
        const caps = r.p.match(view.method, view.path);
        if (caps !== undefined) return { tools: [fillTemplate(r.tool, caps)], source: 'route' };
      }
      return { tools: [], source: 'none' };
    },
  };
}
