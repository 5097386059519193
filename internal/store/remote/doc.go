// Package remote is a store.Store that is an HTTP client of the v1beta1 API
// of a kubelite master. Minion-side components (kubelet, proxy) and kubectl
// use it, so they are written once against store.Store and run the same
// against the master's registry in standalone mode.
//
// Mapping: Get = GET /api/v1beta1/<res>/<id>, List = GET /api/v1beta1/<res>
// with ?labels= ?fields= and ?namespace= (an explicitly empty namespace asks
// for all namespaces, as ListOptions.Namespace "" means), Create = POST
// (a *api.Binding goes to /bindings), Update = PUT, Delete = DELETE (the
// API answers a Status, so the returned object carries kind, id and
// namespace only), Watch = GET /api/v1beta1/watch/<res>?resourceVersion=.
//
// Errors: a non-2xx answer is decoded into an *api.StatusError, so
// api.IsNotFound, IsConflict, IsGone... work across the wire (a body that
// is not a Status still gets the reason of its HTTP code). A transport
// failure is wrapped with the master it tried to reach
// ("reach master http://10.0.0.1:8080: dial tcp ...: connection refused").
//
// Several masters: a Store over an endpoint with Others (a minion's
// --master list, kubectl's -s m1,m2) sends through the endpoint's Set, which
// moves every request to the next master when the current one fails (see
// package endpoint); when none answers the error names each master. A
// watch whose master dies ends its channel; the caller (store.Informer)
// watches again from the last resourceVersion it saw and that request goes
// to a master that answers: nothing is lost or repeated, and a 410 Gone
// (the change is out of the new master's history) makes the informer list
// again.
//
// Watch returns once the master has answered the watch request (the master
// registers the watch before answering, so "from now" misses nothing after
// Watch returns) and closes its channel when ctx ends or the stream ends;
// the caller then watches again from the last revision it saw. Requests
// other than watches time out after DefaultTimeout; watches have no
// timeout beyond TCP keep-alive. The transport keeps connections alive.
//
// Beyond store.Store: ServerVersion (GET /version, for kubectl version) and
// Stream (an untimed GET of any API path, e.g. a kubelet's logs through
// /api/v1beta1/proxy/minions/<id>/containerLogs/..., for kubectl log).
package remote
