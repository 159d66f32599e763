# Method/path RBAC in the opa-envoy-plugin tutorial style: the user comes from HTTP Basic auth,
# roles grant (method, path glob) pairs.
package envoy.authz

import input.attributes.request.http as http_request

default allow := false

user_roles := {
	"alice": ["admin"],
	"bob": ["reader"],
	"carol": ["writer", "reader"],
}

role_permissions := {
	"admin": [
		{"method": "GET", "path": "/api/**"},
		{"method": "POST", "path": "/api/**"},
		{"method": "DELETE", "path": "/api/**"},
	],
	"reader": [{"method": "GET", "path": "/api/items/*"}, {"method": "GET", "path": "/api/items"}],
	"writer": [{"method": "POST", "path": "/api/items"}, {"method": "PUT", "path": "/api/items/*"}],
}

user_name := name if {
	[kind, encoded] := split(http_request.headers.authorization, " ")
	kind == "Basic"
	[name, _] := split(base64.decode(encoded), ":")
}

request_path := concat("/", ["", concat("/", input.parsed_path)])

allow if {
	some role in user_roles[user_name]
	some perm in role_permissions[role]
	perm.method == http_request.method
	glob.match(perm.path, ["/"], request_path)
}

# Health checks need no user.
allow if {
	http_request.method == "GET"
	input.parsed_path == ["healthz"]
}
