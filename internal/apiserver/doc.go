// Package apiserver serves the v1beta1 REST API (and v1beta2, same shapes)
// over any store.Store. It is HTTP only: defaults, validation, uids, names,
// portal IPs and bindings are the store's business (the registry), so the
// same server runs over the registry in a master and over a bare memory
// store in tests.
//
// Paths:
//
//	/api                                  {"versions":["v1beta1","v1beta2"]}
//	/version, /api/<v>/version            the ServerVersion in Config
//	/healthz                              "ok"
//	/metrics                              Prometheus text (internal/metrics): every request is
//	                                      counted in apiserver_request_total{verb,resource,code}
//	                                      and, unless long-running, timed and counted in flight
//	/ui, /ui/<file>                       the dashboard (internal/dashboard): static files that
//	                                      answer anyone; the page reads the API with the user's token
//	/validate                             [{component, health, healthCode, msg, err}]:
//	                                      Config.HealthChecks plus each minion's kubelet /healthz
//	/api/<v>/<res>                        GET list (?labels= ?fields= ?namespace=), POST create
//	/api/<v>/<res>/<id>                   GET, PUT (id must match the body), DELETE
//	/api/<v>/bindings                     POST only
//	/api/<v>/minions/<id>/heartbeat       PUT: renews the minion's heartbeat lease; a critical
//	                                      request to internal/httpserve (never rate limited, a
//	                                      reserved slot when the in-flight cap is full)
//	/api/<v>/watch/<res>[/<id>]           chunked stream of {"type":..,"object":..} lines
//	/api/<v>/proxy/minions/<id>/<path>    reverse proxy to the minion's kubelet
//	/api/<v>/proxy/services/<id>/<path>   reverse proxy to a random endpoint of the service
//	/api/<v>/redirect/{minions,services}/<id>   307 to the same targets
//
// <res> is pods, replicationControllers (or replicationcontrollers),
// services, endpoints, minions (or nodes), events, bindings.
//
// router.go declares these paths as http.ServeMux patterns (method and
// path; one trailing slash allowed). An unknown path, version or resource
// is a 404 Status, a known path with another method a 405 Status; paths
// with empty, "." or ".." segments are matched as they are, never cleaned
// or redirected (proxy passes them on verbatim). testdata/routes.txt pins
// what every method on every route answers (go test -run TestRoutes
// -update rewrites it).
//
// Namespaces: ?namespace=X selects X; no namespace parameter means
// "default"; an explicitly empty one (?namespace=) means every namespace on
// list and watch (that is how store/remote asks for all namespaces). On
// create, a body without a namespace takes the request's; a body whose
// namespace differs from an explicit ?namespace= is a 400.
//
// Writes answer synchronously: POST answers 201 with the stored object,
// PUT 200 with the stored object, DELETE 200 with a Success Status. A PUT
// body without resourceVersion updates unconditionally; with one it is a
// compare-and-swap (409 Conflict when stale).
//
// Watch streams write and flush once per batch of events that are ready
// together, and at most every 20 ms per stream: an event after a quiet
// spell goes out at once, events close behind it wait for the next flush.
// When the store is a store.SharedWatcher (store/etcd through the
// registry), all watchers of a resource receive the same read-only objects
// and each object is encoded once per API version for all of them. Lists
// from a store.SharedLister reuse the same encodings: an unchanged object is
// encoded once for every list and watch, and a list is the items spliced
// into the encoded list header.
//
// Errors are always api.Status JSON with the HTTP code in it: 400 malformed
// JSON (the message gives line and column), a body that is not a JSON
// object (null), a key that names no field exactly (unknown, or differing
// in case: "ID"; each named, with the field meant), a watch resourceVersion
// of 2^63-1 or more, bad selectors, a body whose
// kind or apiVersion does not fit the URL; 404 unknown path or object; 405
// wrong verb; 409 AlreadyExists/Conflict; 410 Gone (a watch from a
// resourceVersion older than the store's history, answered before
// streaming, or as an ERROR event if the store reports it mid-stream); 413
// bodies over Config.MaxBodyBytes (3 MiB), and objects over their kind's
// stored size (store/etcd: events 16 KiB, others about 1.5 MiB); 422 Invalid
// (from the store); 507 while etcd's space quota is exhausted.
//
// Before anything else (authentication included), gate refuses what a web
// page of another site could make a browser send: a Host that is none of
// the API's names (its addresses, localhost, this host's name, the serving
// certificate's DNS names, Config.HostNames) is 421 (every request with
// TLS; without, a browser's: Sec-Fetch-* present); an Origin other than
// the API's own is 403, and so is a browser write that is not
// same-origin; a POST, PUT, PATCH or DELETE with a body whose Content-Type
// is not JSON is 415 (none at all counts as JSON except from a browser:
// the real kubectl's create --raw sends none). The health paths are exempt
// from the Host check.
//
// Proxy, redirect and /validate reach only: a minion's kubelet at its
// hostIP (the address its join registered and its serving certificate
// names; the master verifies that certificate in secure mode) and
// kubeletPort; and a service's endpoint only when the endpoints
// controller would derive it now (endpoints.Compute: a running pod the
// service selects, bound to a Ready minion). Every address is checked when
// resolved and again by the dialer on the address connected to (DNS
// rebinding): never unspecified, link-local, multicast, etcd's ports (2379,
// 2380, 4001, 7001, Config.ProtectedPorts) anywhere, nor loopback or this
// host's own addresses except at Config.KubeletPort for a kubelet (a
// standalone node's own). A refused target is 403 and nothing is sent.
// The caller's Authorization, Cookie and Proxy-Authorization never reach
// the target, /validate shows only a target's status code, never its body.
//
// No client input produces a 5xx. 5xx codes mean the server side failed:
// the store (500 from a storage error, 504 when it timed out) or a proxied
// kubelet/endpoint that cannot be reached (503). A panic in a handler is
// recovered, logged, and answered with a 500 Status as a last resort; the
// fuzz target FuzzHandlers checks that inputs never get there.
package apiserver
