/**
 * Shared by the benchmarks: the writer that replaces one `## <title>` section of BENCHMARKS.md from a run's
 * output (the file is never edited by hand).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const BENCHMARKS_MD = new URL('../../BENCHMARKS.md', import.meta.url);

/**
 * Replaces (or appends) the `## <title>` section of BENCHMARKS.md with `body`, leaving the other sections
 * alone. Re-reads the file right before writing: other benchmarks own the other sections.
 */
export function writeBenchmarksSection(
  title: string,
  body: string,
  file: string | URL = BENCHMARKS_MD,
): void {
  const section = `## ${title}\n\n${body.trim()}\n`;
  const cur = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const heading = new RegExp(`^## ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'm');
  const start = cur.search(heading);
  let next: string;
  if (start < 0) next = `${cur.trimEnd()}\n\n${section}`;
  else {
    const after = cur.slice(start + 1).search(/^## /m);
    const end = after < 0 ? cur.length : start + 1 + after;
    next = `${cur.slice(0, start)}${section}${end < cur.length ? `\n${cur.slice(end)}` : ''}`;
  }
  writeFileSync(file, next);
}
