package apiserver

import "net/http"

// TransportForTest is the transport the server reaches targets through
// (the configured one, guarded at dial time).
func (s *Server) TransportForTest() http.RoundTripper { return s.transport }

// PreferReturn is preferReturn, for its table test.
var PreferReturn = preferReturn

// IsHeartbeat is isHeartbeat, the requests httpserve treats as critical.
var IsHeartbeat = isHeartbeat
