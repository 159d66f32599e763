# SIGIL starter policy (docs/policy.md §9). TBIT rules already ran before this: a policy can only narrow.
# Build: sigil policy build policy/default -o bundle.tar.gz   (entrypoint envoy/authz/allow)
package envoy.authz

import input.attributes.request.http as http_request

default allow := false

# A verified delegation chain whose leaf scope covers the tool.
allow if input.sigil.valid

# Public routes (sigil.authz.public_routes) reach the policy with sigil.valid = false: read-only methods only.
allow if {
	input.sigil.public_route
	http_request.method in {"GET", "HEAD"}
}
