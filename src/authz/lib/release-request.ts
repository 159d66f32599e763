import type { CheckRequest } from '../../../gen/envoy/service/auth/v3/external_auth_pb.js';

/**
 * Drops the decoded request's contents once its Check is answered; both transports call it. grpc-js keeps the
 * message referenced from the call's listeners, and the call from its HTTP/2 stream, until the stream object
 * itself is collected.
 * On Node 24 (V8 13.x) a stream is often kept past its end by a dead hash table in the old generation (the
 * session's stream Map and Set are rehashed there), and then everything it reaches is promoted with it:
 * cutting the message's headers, body and metadata here keeps ~1/4 of a Check's promoted bytes out of the
 * old generation (bench/NOTES.md, "2026-12-05, session 31 — the tail"). Nothing reads the request after
 * the answer.
 */
export function releaseRequest(req: CheckRequest): void {
  req.attributes = undefined;
}
