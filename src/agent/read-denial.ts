/** SIGIL's deny answer → {@link SigilDeniedError} (docs/authz.md §6 "Deny"). */
import { SigilDeniedError } from './errors.js';

/** A stable SIGIL code: upper-case words joined by `_` (docs/authz.md §9). */
const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

/**
 * The denial in `res`, if it is one: an error status whose JSON body is `{error, code, decision_id}` (the
 * decision id also in `x-sigil-decision-id`). Reads a clone, so the caller can still read `res`. Anything
 * else — an upstream's own 4xx/5xx — is not a denial and returns undefined.
 */
export async function readDenial(res: Response): Promise<SigilDeniedError | undefined> {
  if (res.status < 400) return undefined;
  const type = res.headers.get('content-type') ?? '';
  if (!/\bjson\b/i.test(type)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(await res.clone().text());
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { code, error, decision_id: id } = body as Record<string, unknown>;
  if (typeof code !== 'string' || !CODE.test(code)) return undefined;
  const decisionId = typeof id === 'string' ? id : (res.headers.get('x-sigil-decision-id') ?? undefined);
  if (decisionId === undefined) return undefined;
  return new SigilDeniedError(code, res.status, decisionId, typeof error === 'string' ? error : code);
}
