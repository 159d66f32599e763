/**
 * Step 4: which tool(s) the request asks for (docs/authz.md §2): the `tools/call`s of an MCP JSON-RPC body
 * (every call of a batch), the tool header, and the first matching route rule — all of them, in that order.
 */
import type { HookContext } from '../policy/api.js';
import { AuthzError } from './errors.js';
import type { RequestView } from './extract-request.js';
import { LIMITS } from './lib/limits.js';
import { mcpTools } from './lib/mcp.js';
import { compileRoute, compileTemplate } from './lib/route-pattern.js';

/** Where the tools came from (the policy port's `toolSource`). */
type ToolSource = HookContext['toolSource'];

/** A compiled tool resolver. */
export interface ToolResolver {
  resolve(view: RequestView): { tools: string[]; source: ToolSource };
  /** True when the request matches authz.public_routes. */
  isPublic(view: RequestView): boolean;
}

/** Compiles the route rules (authz.routes, authz.public_routes) once; throws Error on a bad pattern (start-up). */
export function toolResolver(opts: {
  toolHeader: string;
  routes: { method: string; path: string; tool: string }[];
  publicRoutes: { method: string; path: string }[];
}): ToolResolver {
  const routes = opts.routes.map((r) => ({
    p: compileRoute(r.method, r.path),
    tool: compileTemplate(r.tool),
  }));
  const pub = opts.publicRoutes.map((r) => compileRoute(r.method, r.path));
  return {
    isPublic: (view) => pub.some((p) => p.match(view.method, view.path) !== undefined),
    resolve(view) {
      // Every source that names a tool counts, and all of them must then be in scope: a header naming an
      // in-scope tool must not cover a body or route that runs another one. `source` is the first that named one.
      const tools: string[] = [];
      let source: ToolSource = 'none';
      const add = (ts: readonly string[], from: ToolSource) => {
        if (ts.length === 0) return;
        if (source === 'none') source = from;
        for (const t of ts) if (!tools.includes(t)) tools.push(t);
      };
      add(mcpTools(view.body, view.headers, view.bodyPartial), 'mcp');
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
