/**
 * `sigil verify`: verifies a chain with this sidecar's trust (own JWKS + configured bundle +
 * revocations). Exit 0 = valid; exit 1 = invalid, with `CODE: message` on stderr (or JSON on stdout).
 */
import type { Command } from 'commander';
import { SigilError } from '../../lib/errors.js';
import { isoTime, printJson, printResult, readTokenArg, withLocal } from '../context.js';

interface VerifyFlags {
  tool?: string;
  aud?: string;
  json?: boolean;
}

/** Registers `sigil verify`. */
export function register(program: Command): void {
  program
    .command('verify')
    .description('verify a token and its delegation chain (exit 0 valid, 1 invalid with the error code)')
    .argument('<token>', 'the token, or - to read it from stdin')
    .option('--tool <name>', 'also require the leaf scope to allow this tool')
    .option('--aud <spiffe>', "also require the leaf audience to cover this SPIFFE ID (a verifier's own ID)")
    .option('--json', 'print the result as JSON')
    .action((arg: string, f: VerifyFlags, cmd: Command) =>
      withLocal(cmd, async ({ service }) => {
        const token = await readTokenArg(arg);
        try {
          const chain = service.verify(token, { tool: f.tool, audience: f.aud });
          const leaf = chain.leaf;
          printResult(
            f.json,
            {
              valid: true,
              depth: chain.depth,
              sub: leaf.sub,
              task_id: leaf.task_id,
              tool_scope: leaf.tool_scope,
              aud: leaf.aud,
              exp: leaf.exp,
              jti: leaf.jti,
              root_iss: chain.hops[0]!.claims.iss,
              token_hash: chain.tokenHash,
            },
            () =>
              `valid: depth ${chain.depth}, sub ${leaf.sub}, task ${leaf.task_id}, scope ${leaf.tool_scope.join(',')}, expires ${isoTime(leaf.exp)}`,
          );
        } catch (e) {
          // --json keeps stdout machine-readable; the exit code and stderr line stay the same.
          if (f.json && e instanceof SigilError) printJson({ valid: false, code: e.code, error: e.message });
          throw e;
        }
      }),
    );
}
