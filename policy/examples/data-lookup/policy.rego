# data.json lookups: per-agent allowed tools and methods, blocked path prefixes, and per-tenant limits.
package envoy.authz

import input.attributes.request.http as http_request

default allow := false

agent := data.agents[input.sigil.sub]

blocked if {
	some prefix in data.blocked_prefixes
	startswith(concat("/", input.parsed_path), prefix)
}

allow if {
	input.sigil.valid
	not blocked
	input.sigil.tool in agent.tools
	http_request.method in agent.methods
	to_number(object.get(input.parsed_query, "limit", ["0"])[0]) <= data.limits[agent.tier]
}
