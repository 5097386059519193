// Package dashboard serves kubelite's web dashboard: three static files
// (index.html, style.css, app.js) embedded with go:embed, no build step, no
// npm. The API server mounts Handler at /ui.
//
// The page holds no data and no secret: it is served to anyone (like the
// API's /healthz) and everything it shows comes from the API itself, same
// origin, with the API's own authentication:
//   - a token sign-in: the bearer token (the admin's is in
//     DATA-DIR/admin.kubeconfig; `kubelite kubeconfig` prints it) is kept in
//     sessionStorage (gone when the tab closes) and sent as an
//     Authorization header on every request; with no token the page works
//     where plain HTTP may read (a browser on the master host itself);
//   - it lists minions, pods, replication controllers, services, endpoints
//     and events from /api/v1beta1 (every namespace), then follows each
//     with /api/v1beta1/watch/<resource>?resourceVersion=N, read as a
//     stream of JSON lines: the tables change as the cluster does, with no
//     reload; a watch that ends (410 Gone, a restart) lists again.
//     Endpoints and events are listed every 2 s instead: a browser keeps at
//     most 6 HTTP/1.1 connections to a host and each watch holds one, so
//     four watches leave room for the page's other requests;
//   - a label filter (app=web,tier!=db as the API's selectors) narrows pods,
//     replication controllers and services; a pod's host links to its
//     minion, a replication controller and a service to their pods (the
//     filter set to their selector), a pod to its containers' logs (fetched
//     through the API's minion proxy);
//   - a signed-in user sees +/- on each replication controller: a PUT of
//     its desiredState.replicas (the API refuses users who may not).
//
// Responses carry a Content-Security-Policy allowing only this origin (no
// inline script, no framing), so the page cannot be turned against the API
// by another site.
package dashboard
