// Package httpserve runs an http.Handler on a listener that hostile or
// broken clients cannot exhaust: the API server (8080) and the kubelet
// (10250) both serve through it.
//
// Use:
//
//	s, err := httpserve.Listen(httpserve.Config{Name: "apiserver", Addr: ":8080", Handler: h, TLS: tc})
//	// err names the port if it is in use; s.Addr() is the bound address
//	err = s.Serve(ctx) // until ctx ends; nil after a clean shutdown
//
// Listen binds at once; Serve accepts, and after ctx ends shuts down:
// long-running requests see their context cancelled at once, other
// requests get ShutdownGrace (5 s), then every connection still open is
// closed, hijacked ones included, and Serve returns when the goroutines it
// started have ended. A Server that will never be served is released with
// Close. Call RaiseFileLimit once at process start.
//
// # TLS
//
// With Config.TLS the port speaks TLS 1.2 or later (a lower MinVersion is
// raised) and HTTP/1.1 only: the server does not offer HTTP/2, whose
// multiplexed streams the per-connection deadlines below would not bound.
// ServerTLS builds a config with AEAD, forward-secret suites and optional
// client certificates (VerifyClientCertIfGiven, so bearer tokens still
// work). With AllowPlain the same port also takes plain HTTP: each
// connection's first byte is read in a goroutine of its own under
// ReadHeaderTimeout (0x16 starts a TLS handshake; anything else is plain),
// never in the accept loop. Without AllowPlain a plain request gets one
// "400 Client sent an HTTP request to an HTTPS server" and is closed. The
// Handler tells plain requests by IsPlain(r) (r.TLS == nil).
//
// # Connections
//
// One goroutine accepts and applies the caps, which need no I/O: beyond
// MaxConns open connections (default 20,000 or two fifths of the file
// limit, whichever is smaller, so that the API and a kubelet on one host
// leave a fifth of the descriptors to etcd and Docker) or MaxConnsPerClient
// from one remote IP (default 2,000), a new connection is closed at once
// and the others are not affected. Accept errors such as EMFILE are retried
// with a backoff up to 1 s, never fatal.
//
// Loopback peers are exempt from MaxConnsPerClient (not from MaxConns)
// unless LimitLoopback is set: on a master or standalone node every local
// component, kubectl and the tutorial's curls share 127.0.0.1, and one of
// them must not lock the others out; the global cap still protects the
// process's descriptors.
//
// # Timeouts
//
//   - ReadHeaderTimeout (10 s): the first byte sniff, the TLS handshake and
//     the request header each must complete within it. A silent client, or
//     one dribbling a header (slowloris), is cut and never blocks others:
//     each connection waits in its own goroutine.
//   - IdleTimeout (120 s) between requests on a kept-alive connection.
//   - BodyTimeout (30 s): the whole body must arrive within it after the
//     header. The first PreReadBytes (16 KiB) of an ordinary request's
//     body are read before the request takes a MaxInflight slot, so a
//     stalled body holds a connection and a goroutine, never a slot: when
//     it does not arrive in time the client gets 408 (a Status, reason
//     Timeout) and the connection is closed, without the Handler seeing
//     it. A longer body streams its rest to the Handler under the same
//     deadline (a stall then fails the Handler's read with an error saying
//     so). Once the body is read the deadline is lifted, so a slow handler
//     is not cut.
//   - WriteTimeout (60 s) bounds a response that is not long-running.
//   - WatchTimeout (30 m) ends a long-running request: its context is
//     cancelled after WatchTimeout ±10% (jitter, so that re-watches spread
//     out); its writes are bounded by that time plus WriteTimeout, so a
//     watcher that stops reading cannot hold a goroutine for ever.
//
// # Requests
//
// LongRunning (default DefaultLongRunning: ?watch=true, a /watch/ path
// segment, ?follow=true) splits requests in two classes counted apart:
// beyond MaxInflight (400) ordinary requests, or MaxWatches (2,000) long
// ones in total or MaxWatchesPerClient (500) from one client, a request is
// answered 429 with "Retry-After: 1" and a Kubernetes Status body (reason
// TooManyRequests), without reaching the Handler. Critical requests (the
// API's: a minion's heartbeat) that find MaxInflight full take one of
// ReservedInflight slots kept for them (a tenth of MaxInflight), and no
// rate bucket counts them: a master flooded with writes refuses the
// writes, not the heartbeats that keep its minions Ready. When those are
// all taken too (a store stalling for seconds holds every heartbeat in
// flight), a critical request waits in line for one up to CriticalWait
// (5 s; at most MaxInflight wait) before it is refused in turn, so that a
// fleet's heartbeats land first come first served as slots free instead of
// retrying at random. RatePerClient, when not
// 0, gives each client a token bucket of that many requests a second,
// burst twice that (at least 1); an empty bucket answers 429 with a
// Retry-After of the whole seconds until the next token. Buckets of idle
// clients are forgotten. A client is what ClientKey says (default: the
// remote IP; the API passes the authenticated user), and Clock (default
// the wall clock) drives the buckets and the WatchTimeout timer, so tests
// move them with clock.Fake. Socket deadlines always use the wall clock.
//
// Refusals are logged as warnings at most once per kind every 10 s, with
// the count of those held back; net/http's own lines (handshake errors)
// go to debug.
package httpserve
