/**
 * The fuzzed request shape (issue #18): what a client sends through Envoy, before Envoy reduces it to a
 * CheckRequest. Kept as plain data so an input can be mutated, minimized, written to a file and replayed.
 */
import type { CheckRequest } from '../../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { checkRequest } from '../check-request.js';

/** One request as the client sent it. */
export interface FuzzInput {
  method: string;
  path: string;
  /** Lower-case name → value, besides the pseudo-headers and the token. */
  headers: Record<string, string>;
  /** The bytes the client sent; Envoy forwards exactly these upstream. */
  body?: Uint8Array;
  /** Envoy without pack_as_bytes: SIGIL gets the body as a string with invalid UTF-8 replaced by U+FFFD. */
  asString?: boolean;
  /** `scoped`: a valid token (scope {@link SCOPE}); `none`; `garbage`: a bearer value that is no token. */
  token: 'scoped' | 'none' | 'garbage';
}

/** The scope of the fuzzed caller's token. */
export const SCOPE: readonly string[] = Object.freeze(['search', 'docs.*']);

/** The CheckRequest Envoy would send for `input`; `token` is the valid bearer token of the caller. */
export function toCheckRequest(input: FuzzInput, token: string): CheckRequest {
  const headers = { ...input.headers };
  if (input.token === 'garbage') headers.authorization = 'Bearer not.a.token';
  const body = input.body;
  return checkRequest(
    {
      method: input.method,
      path: input.path,
      headers,
      ...(body === undefined || body.length === 0
        ? {}
        : input.asString
          ? { body: Buffer.from(body).toString('utf8') }
          : { rawBody: body }),
    },
    input.token === 'scoped' ? token : undefined,
  );
}

/** JSON form of an input (the body base64), for failure files and replay. */
export function serializeInput(input: FuzzInput): string {
  const { body, ...rest } = input;
  return JSON.stringify(
    { ...rest, ...(body ? { body64: Buffer.from(body).toString('base64') } : {}) },
    null,
    2,
  );
}

/** Reads {@link serializeInput}'s form back. */
export function parseInput(text: string): FuzzInput {
  const o = JSON.parse(text) as FuzzInput & { body64?: string };
  const { body64, ...rest } = o;
  return {
    ...rest,
    ...(body64 !== undefined ? { body: new Uint8Array(Buffer.from(body64, 'base64')) } : {}),
  };
}
