# Header checks with a structured decision (entrypoint envoy/authz/result): API key, tenant header,
# request/response header mutations and a custom denied response, as opa-envoy-plugin maps them.
package envoy.authz

import input.attributes.request.http as http_request

default allow := false

valid_keys := {"k-alpha-123", "k-beta-456"}

tenant := http_request.headers["x-tenant"]

allow if {
	valid_keys[http_request.headers["x-api-key"]]
	regex.match(`^[a-z][a-z0-9-]{1,30}$`, tenant)
	not blocked_agent
}

blocked_agent if contains(lower(http_request.headers["user-agent"]), "badbot")

status := 401 if not http_request.headers["x-api-key"]

else := 429 if blocked_agent

else := 403

result := {
	"allowed": true,
	"headers": {"x-tenant-verified": tenant, "x-policy": ["headers", "v1"]},
	"request_headers_to_remove": ["x-api-key"],
	"response_headers_to_add": {"x-served-by": "sigil"},
	"dynamic_metadata": {"tenant": tenant},
} if allow

result := {
	"allowed": false,
	"http_status": status,
	"body": sprintf("denied: status %d", [status]),
	"headers": {"x-deny-reason": "policy"},
} if not allow
