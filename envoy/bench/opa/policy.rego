# The opa-envoy-plugin side of the side-by-side benchmark (bench/e2e.ts): the same job SIGIL does for a
# root TBIT (docs/tbit.md), written the way operators write it for opa-envoy-plugin today.
#   - token from `Authorization: Bearer`, verified with io.jwt.decode_verify against the SAME JWKS
#     SIGIL's issuer publishes (data.sigil.jwks), pinned to EdDSA, with iss and aud constraints
#     (decode_verify also checks exp and nbf against the current time);
#   - `typ` must be tbit+jwt;
#   - the tool is the path segment after /tools/ and must be allowed by the token's tool_scope with
#     SIGIL's wildcard rules (`*`, exact name, `prefix.*`).
# Result object as opa-envoy-plugin maps it: allowed, http_status, headers (added to the upstream request).
package envoy.authz

import rego.v1

bearer := t if {
	h := input.attributes.request.http.headers.authorization
	startswith(h, "Bearer ")
	t := substring(h, 7, -1)
}

verified := [header, claims] if {
	[valid, header, claims] := io.jwt.decode_verify(bearer, {
		"cert": data.sigil.jwks,
		"alg": "EdDSA",
		"iss": data.sigil.issuer,
		"aud": data.sigil.audience,
	})
	valid
	header.typ == "tbit+jwt"
}

tool := input.parsed_path[1] if {
	count(input.parsed_path) == 2
	input.parsed_path[0] == "tools"
}

scope_allows(pattern, _) if pattern == "*"

scope_allows(pattern, t) if pattern == t

scope_allows(pattern, t) if {
	endswith(pattern, ".*")
	startswith(t, trim_suffix(pattern, "*"))
}

in_scope if {
	some pattern in verified[1].tool_scope
	scope_allows(pattern, tool)
}

default result := {"allowed": false, "http_status": 401, "body": "{\"code\":\"TOKEN_INVALID\"}"}

result := {
	"allowed": true,
	"headers": {"x-sigil-sub": verified[1].sub, "x-sigil-task-id": verified[1].task_id},
} if in_scope

result := {"allowed": false, "http_status": 403, "body": "{\"code\":\"TOOL_NOT_IN_SCOPE\"}"} if {
	verified
	not in_scope
}
