/**
 * Bounds on what one CheckRequest may carry. Envoy's own defaults are far below these
 * (max_request_headers_kb 60, max_headers_count 100), so only hostile or misconfigured callers hit them.
 */
export const LIMITS = Object.freeze({
  /** Headers in one request (Envoy default max_headers_count is 100). */
  maxHeaders: 1000,
  /** Longest header name, bytes (Envoy's HeaderValue.key bound is 16384). */
  maxHeaderName: 1024,
  /** Longest single header value, UTF-16 units. */
  maxHeaderValue: 64 * 1024,
  /** Sum of all header names and values. */
  maxHeaderBytes: 256 * 1024,
  /** Longest request path. */
  maxPath: 8192,
  /** Entries in one JSON-RPC batch. */
  maxBatch: 100,
  /** Deepest JSON nesting inspected; checked by an O(n) scan before JSON.parse (AUTHZ_BODY_TOO_DEEP). */
  maxJsonDepth: 64,
  /**
   * Most objects, arrays and object members in one JSON reading, counted by the same scan
   * (AUTHZ_BODY_TOO_COMPLEX): JSON.parse's cost is the nodes it allocates, so this bounds a Check's work
   * whatever authz.max_body_bytes allows (docs/authz.md §4, measured worst case).
   */
  maxJsonNodes: 100_000,
  /** Longest tool name accepted from a body or header. */
  maxToolName: 256,
});
