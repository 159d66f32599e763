/**
 * Serves the built dashboard (dist/dashboard) read-only. Files are read once into memory at first use: the bundle
 * is small and fixed for the life of the process, and no request path ever reaches the file system, so traversal
 * is impossible by construction (a lookup in a map of known files).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_HEADERS } from './http.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Content-Security-Policy of the dashboard: only our own scripts, styles and API; no inline script, no framing,
 * no form posts elsewhere. Pasted tokens therefore cannot be sent anywhere but this origin (and the mesh collector
 * origins the operator lists in sigil.admin.connect_src).
 */
const dashboardCsp = (connectSrc: readonly string[] = []) =>
  `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${["'self'", ...connectSrc].join(' ')}; ` +
  "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

type StaticFile = { body: Buffer; type: string; immutable: boolean };

/** Finds the built dashboard next to the compiled module (dist/) or from the source tree (tsx). */
function defaultDashboardDir(): string | undefined {
  // Source (tsx): src/admin/api/lib → <root>/dist/dashboard. Built: dist/src/admin/api/lib → dist/dashboard.
  // A build always has assets/, which tells it apart from the dashboard's source folder (<root>/dashboard).
  for (const rel of ['../../../../dist/dashboard/', '../../../../dashboard/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets'))) return dir;
  }
  return undefined;
}

/**
 * The static part of the admin API over the built dashboard in `dir` (default: found next to the package;
 * `null`: none). The returned function serves `pathname` if it is a dashboard file (`/` = index.html) and
 * returns false when it is not one. `connectSrc`: extra CSP `connect-src` origins (the mesh collector).
 */
export function staticFiles(dir: string | null | undefined, connectSrc?: readonly string[]) {
  const csp = dashboardCsp(connectSrc);
  const root = dir === null ? undefined : (dir ?? defaultDashboardDir());
  let files: Map<string, StaticFile> | undefined;
  return (pathname: string, method: string, res: ServerResponse): boolean => {
    files ??= load(root);
    const f = files.get(pathname === '/' ? '/index.html' : pathname);
    if (!f) return false;
    res.writeHead(200, {
      ...API_HEADERS,
      'content-type': f.type,
      'content-length': String(f.body.length),
      'cache-control': f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'content-security-policy': csp,
      'cross-origin-opener-policy': 'same-origin',
    });
    res.end(method === 'HEAD' ? undefined : f.body);
    return true;
  };
}

function load(dir = ''): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const rel of dir && existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }) : []) {
    const parts = rel.split(sep);
    const type = TYPES[extname(rel)];
    const full = join(dir, rel);
    const st = statSync(full);
    if (!type || parts.length > 5 || !st.isFile() || st.size > 8 * 1024 * 1024) continue;
    const urlPath = `/${parts.join('/')}`;
    files.set(urlPath, { body: readFileSync(full), type, immutable: urlPath.startsWith('/assets/') });
  }
  return files;
}
