package apiserver

import "net/http"

// TransportForTest is the transport the server reaches targets through
// (the configured one, guarded at dial time).
func (s *Server) TransportForTest() http.RoundTripper { return s.transport }

// PreferReturn is preferReturn, for its table test.
var PreferReturn = preferReturn

// CriticalForTest is what the server's listener treats as critical.
func (s *Server) CriticalForTest(r *http.Request) bool { return s.serveConfig("").Critical(r) }

// CriticalRefusedForTest is what the server's listener calls for a critical
// request it refuses.
func (s *Server) CriticalRefusedForTest(r *http.Request) { s.serveConfig("").CriticalRefused(r) }
