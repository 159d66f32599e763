# JWT-claim-style checks on SIGIL's verified chain (input.sigil) plus a user JWT decoded with io.jwt.decode.
package envoy.authz

import input.attributes.request.http as http_request

default allow := false

trusted_issuer := "spiffe://sigil.mesh/sigil/issuer"

chain_ok if {
	input.sigil.valid
	input.sigil.depth <= 3
	count(input.sigil.hops) == input.sigil.depth
	input.sigil.hops[0].iss == trusted_issuer
	startswith(input.sigil.sub, "spiffe://sigil.mesh/agent/")
	every hop in input.sigil.hops {
		hop.exp > 1700000000
	}
}

# Writes only straight from the root's direct delegate; reads at any depth.
tool_ok if {
	startswith(input.sigil.tool, "fs.read")
}

tool_ok if {
	input.sigil.tool in {"fs.write", "db.write"}
	input.sigil.depth <= 2
	not startswith(input.sigil.task_id, "sandbox-")
}

# An optional end-user JWT: when present its claims must match the task.
user_claims := payload if {
	[_, payload, _] := io.jwt.decode(http_request.headers["x-user-jwt"])
}

user_ok if not http_request.headers["x-user-jwt"]

user_ok if {
	user_claims.task == input.sigil.task_id
	user_claims.scope[_] == input.sigil.tool
}

allow if {
	chain_ok
	tool_ok
	user_ok
}
