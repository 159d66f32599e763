/**
 * `sigil inspect`: a readable table of a chain's hops (depth, sub, iss, scope, exp) and what each
 * hop narrowed. Decoding is unverified; the last line says whether this sidecar's verifier accepts it.
 */
import type { Command } from 'commander';
import { SigilError } from '../../lib/errors.js';
import { decodeChain } from '../../token/index.js';
import { isoTime, printResult, readTokenArg, table, withLocal } from '../context.js';

/** Registers `sigil inspect`. */
export function register(program: Command): void {
  program
    .command('inspect')
    .description('show the hops of a token and what each one narrowed (decoding is unverified)')
    .argument('<token>', 'the token, or - to read it from stdin')
    .option('--json', 'print the decoded hops as JSON')
    .action((arg: string, f: { json?: boolean }, cmd: Command) =>
      withLocal(cmd, async ({ service }) => {
        const token = await readTokenArg(arg);
        const hops = decodeChain(token);
        let verdict: { valid: true } | { valid: false; code: string; error: string };
        try {
          service.verify(token);
          verdict = { valid: true };
        } catch (e) {
          if (!(e instanceof SigilError)) throw e;
          verdict = { valid: false, code: e.code, error: e.message };
        }
        const json = {
          hops: hops.map((h) => ({
            header: h.header,
            claims: h.claims,
            hash: h.hash,
            narrowed: h.narrowed ?? null,
          })),
          verification: verdict,
        };
        printResult(f.json, json, () => {
          const rows = hops.map((h, i) => [
            String(h.claims.dep),
            h.claims.sub,
            h.claims.iss,
            h.claims.tool_scope.join(','),
            [h.claims.aud].flat().join(','),
            isoTime(h.claims.exp),
            h.claims.cnf ? 'yes' : 'no',
            i === 0
              ? '(root)'
              : h.narrowed && h.narrowed.summary.length > 0
                ? h.narrowed.summary.join('; ')
                : '(nothing)',
          ]);
          return [
            `task ${hops[0]!.claims.task_id}  ·  ${hops.length} hop(s)  ·  ${token.length} bytes`,
            '',
            table([['DEPTH', 'SUB', 'ISS', 'SCOPE', 'AUD', 'EXP', 'CAN DELEGATE', 'NARROWED'], ...rows]),
            '',
            verdict.valid
              ? "verification: valid with this sidecar's trust"
              : `verification: ${verdict.code}: ${verdict.error}`,
          ].join('\n');
        });
      }),
    );
}
