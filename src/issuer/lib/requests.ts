/**
 * Request bodies of the issuer endpoint, validated with zod in the service core so the HTTP and
 * gRPC transports share one set of rules. Field names are the wire (JSON) names.
 */
import { z } from 'zod';
import { IssuerError } from '../errors.js';

/** No own cap below the body limit: the token module's 16 KiB cap answers with its TBIT_TOO_LARGE code. */
const MAX_TOKEN = 64 * 1024;
const id = (max = 1024) => z.string().min(1).max(max);
const spiffe = z.string().min(1).max(2048);
const aud = z.union([spiffe, z.array(spiffe).min(1).max(16)]);
const toolScope = z.array(z.string().min(1).max(128)).min(1).max(64);

/** Ed25519 public JWK (RFC 8037 §2); never a private key (`d` is refused by `.strict()`). */
export const publicJwkSchema = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be the base64url of 32 bytes'),
    kid: z.string().max(256).optional(),
    use: z.string().max(16).optional(),
    alg: z.string().max(16).optional(),
  })
  .strict();

/** `POST /v1/mint` body. */
export const mintRequestSchema = z
  .object({
    sub: spiffe,
    task_id: id(),
    tool_scope: toolScope,
    ttl: z.number().int().min(1).max(86_400).optional(),
    aud: aud.optional(),
    holder_key: publicJwkSchema.optional(),
    jti: id(256).optional(),
    dmax: z.number().int().min(1).max(64).optional(),
  })
  .strict();

/** `POST /v1/delegate` body. */
export const delegateRequestSchema = z
  .object({
    token: z.string().min(1).max(MAX_TOKEN),
    to: spiffe,
    tool_scope: toolScope,
    ttl: z.number().int().min(1).max(86_400).optional(),
    aud: aud.optional(),
    to_key: publicJwkSchema.optional(),
    dmax: z.number().int().min(1).max(64).optional(),
  })
  .strict();

/** `POST /v1/revoke` body: exactly one of task or jti. */
export const revokeRequestSchema = z
  .object({ task: id().optional(), jti: id().optional() })
  .strict()
  .refine((r) => (r.task === undefined) !== (r.jti === undefined), 'exactly one of task or jti is required');

/**
 * Validates `input` against `schema`; failures become ISSUER_BAD_REQUEST naming the field (`whole`
 * when the input itself is wrong).
 */
export function parseRequest<T>(schema: z.ZodType<T>, input: unknown, what: string, whole = '(body)'): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.map(String).join('.') || whole;
  throw new IssuerError('ISSUER_BAD_REQUEST', `${what}: ${field}: ${issue.message}`);
}
