package join

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/auth"
	"kubelite/internal/logging"
	"kubelite/internal/pki"
	"kubelite/internal/store"
)

// Paths served by Server.Handler.
const (
	CACertsPath = "/cacerts"                 // GET, anyone: the CA certificate PEM (what the token pins)
	MinionPath  = "/v1-kubelite/join/minion" // POST, Authorization: Bearer <secret>, JoinRequest
)

// Annotations of a joined Minion.
const (
	AnnotationCredential = "kubelite.io/credential-sha256" // KeyFingerprint of the key the name is bound to
	AnnotationJoinedFrom = "kubelite.io/joined-from"       // remote IP of the join
	AnnotationJoinedAt   = "kubelite.io/joined-at"         // RFC 3339, UTC
)

// Subject of a minion's certificate.
const (
	MinionCNPrefix = auth.MinionPrefix // CN is MinionCNPrefix + name
	MinionsGroup   = auth.MinionsGroup // O of every minion certificate
)

// MaxBodyBytes caps a join request.
const MaxBodyBytes = 64 << 10

// maxHostnames caps JoinRequest.Hostnames.
const maxHostnames = 32

// JoinRequest is the body of a POST to MinionPath.
type JoinRequest struct {
	Name      string   `json:"name"`
	CSR       string   `json:"csr"` // PEM
	HostIP    string   `json:"hostIP,omitempty"`
	Hostnames []string `json:"hostnames,omitempty"`
}

// JoinResponse is the answer to a successful join.
type JoinResponse struct {
	Cert string `json:"cert"` // PEM, CN minion:<name>
	CA   string `json:"ca"`   // PEM
}

// Server is the master side of the join.
type Server struct {
	CA     *pki.CA
	Secret func() string    // the current join secret, read on every request; "" refuses every join
	Store  store.Store      // where Minion names are bound (the master's registry)
	Now    func() time.Time // nil: time.Now
	Log    *logrus.Entry    // nil: logs nothing
}

// Handler serves CACertsPath and MinionPath.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(CACertsPath, s.serveCACerts)
	mux.HandleFunc(MinionPath, s.serveMinion)
	return mux
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *logrus.Entry { return logging.OrDiscard(s.Log) }

func (s *Server) serveCACerts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, api.NewMethodNotAllowed(r.Method, r.URL.Path))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(s.CA.CertPEM)
}

func (s *Server) serveMinion(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, api.NewMethodNotAllowed(r.Method, r.URL.Path))
		return
	}
	from := remoteIP(r)
	if err := checkSecret(r.Header.Get("Authorization"), s.Secret()); err != nil {
		s.log().WithField("from", from).Warnf("join refused: %v", err)
		writeError(w, err)
		return
	}
	var req JoinRequest
	// Read whole, then decoded: a decoder reading the body itself may not
	// wrap the reader's error (encoding/json on its v2 implementation
	// does not), and a body too large is a 413, not a malformed request.
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, api.NewTooLarge(MaxBodyBytes))
			return
		}
		writeError(w, api.NewBadRequest("join request: read body: "+oneLine(err.Error())))
		return
	}
	if err := json.Unmarshal(data, &req); err != nil {
		writeError(w, api.NewBadRequest("join request: want JSON {name, csr, hostIP, hostnames}: "+oneLine(err.Error())))
		return
	}
	hosts, err := validate(&req)
	if err != nil {
		writeError(w, err)
		return
	}
	csr, err := parseCSR(req.CSR)
	if err != nil {
		writeError(w, api.NewBadRequest(err.Error()))
		return
	}
	now := s.now()
	certPEM, err := s.CA.Sign([]byte(req.CSR), MinionCNPrefix+req.Name, []string{MinionsGroup}, hosts, pki.ClientAuth|pki.ServerAuth, now)
	if err != nil {
		writeError(w, api.NewBadRequest("sign the certificate request: "+oneLine(err.Error())))
		return
	}
	claim := Claim{Name: req.Name, Fingerprint: KeyFingerprint(csr.RawSubjectPublicKeyInfo), From: from, HostIP: req.HostIP, At: now}
	if err := s.bind(r, claim); err != nil {
		if se := (*api.StatusError)(nil); errors.As(err, &se) && se.Status.Code == http.StatusConflict && se.Status.Reason == api.ReasonAlreadyExists {
			s.log().WithField("minion", req.Name).WithField("from", from).Warn(se.Status.Message)
		} else {
			s.log().WithField("minion", req.Name).WithError(err).Warn("join failed")
		}
		writeError(w, err)
		return
	}
	s.log().WithField("minion", req.Name).WithField("from", from).Info("minion joined")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(JoinResponse{Cert: string(certPEM), CA: string(s.CA.CertPEM)})
}

// bind writes the claim to the store: Bind on what is stored, then a Create
// or a compare-and-swap Update; a lost race is retried once.
func (s *Server) bind(r *http.Request, c Claim) error {
	ctx := r.Context()
	var err error
	for try := 0; try < 2; try++ {
		var cur *api.Minion
		o, gerr := s.Store.Get(ctx, api.Minions, "", c.Name)
		switch {
		case api.IsNotFound(gerr):
		case gerr != nil:
			return fmt.Errorf("read minion %s: %w", c.Name, gerr)
		default:
			m, ok := o.(*api.Minion)
			if !ok {
				return fmt.Errorf("read minion %s: stored object is %T", c.Name, o)
			}
			cur = m
		}
		want, berr := Bind(cur, c)
		if berr != nil {
			return berr
		}
		if cur == nil {
			_, err = s.Store.Create(ctx, want)
			if api.IsAlreadyExists(err) {
				continue
			}
		} else {
			_, err = s.Store.Update(ctx, want)
			if api.IsConflict(err) || api.IsNotFound(err) {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("bind minion %s: %w", c.Name, err)
		}
		return nil
	}
	return fmt.Errorf("bind minion %s: %w", c.Name, err)
}

// Claim is one request to bind a name to a key.
type Claim struct {
	Name        string
	Fingerprint string // KeyFingerprint of the requester's public key
	From        string // remote IP
	HostIP      string // "" keeps what is stored
	At          time.Time
}

// Bind decides the Minion to store for claim, given the stored one (nil
// when there is none): a new object, or a copy of cur bound to the claim's
// key. A name held by another key is a 409 *api.StatusError whose message
// names both sides and how to free the name. Pure: cur is not modified.
func Bind(cur *api.Minion, c Claim) (*api.Minion, error) {
	var m *api.Minion
	if cur == nil {
		m = &api.Minion{TypeMeta: api.TypeMeta{ID: c.Name}}
	} else {
		if held := cur.Annotations[AnnotationCredential]; held != "" && held != c.Fingerprint {
			return nil, heldError(cur, c)
		}
		m = api.Copy(cur)
	}
	ann := make(map[string]string, len(m.Annotations)+3)
	for k, v := range m.Annotations {
		ann[k] = v
	}
	ann[AnnotationCredential] = c.Fingerprint
	ann[AnnotationJoinedFrom] = c.From
	ann[AnnotationJoinedAt] = c.At.UTC().Format(time.RFC3339)
	m.Annotations = ann
	if c.HostIP != "" {
		m.HostIP = c.HostIP
	}
	return m, nil
}

func heldError(cur *api.Minion, c Claim) error {
	from := cur.Annotations[AnnotationJoinedFrom]
	if from == "" {
		from = "an unknown address"
	}
	at := cur.Annotations[AnnotationJoinedAt]
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		at = t.UTC().Format("2006-01-02T15:04Z")
	} else if at == "" {
		at = "an unknown time"
	}
	reqFrom := c.From
	if reqFrom == "" {
		reqFrom = "an unknown address"
	}
	msg := fmt.Sprintf("minion %q is already held by another credential (joined from %s at %s); "+
		"this request from %s asks for the same name: give this host another --hostname_override, "+
		"or free the name with \"kubectl delete minion %s\"", c.Name, from, at, reqFrom, c.Name)
	return &api.StatusError{Status: api.Status{
		TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: api.APIVersion},
		Status:   "Failure", Message: msg, Reason: api.ReasonAlreadyExists, Code: http.StatusConflict,
		Details: &api.StatusDetails{ID: c.Name, Kind: "minion"},
	}}
}

// KeyFingerprint is the hex sha256 of a public key's PKIX DER
// (x509.Certificate.RawSubjectPublicKeyInfo,
// x509.CertificateRequest.RawSubjectPublicKeyInfo).
func KeyFingerprint(spkiDER []byte) string {
	sum := sha256.Sum256(spkiDER)
	return hex.EncodeToString(sum[:])
}

// checkSecret compares the bearer token of an Authorization header with
// want in constant time (both hashed first, so not even the length leaks).
func checkSecret(header, want string) error {
	if want == "" {
		return unauthorized("this master accepts no joins: it has no join token")
	}
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || got == "" {
		return unauthorized("join needs the token's secret: Authorization: Bearer <secret>")
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
		return unauthorized("the join secret is wrong: get the current token with \"kubelite token\" on the master")
	}
	return nil
}

func unauthorized(msg string) error {
	return &api.StatusError{Status: api.Status{
		TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: api.APIVersion},
		Status:   "Failure", Message: msg, Reason: "Unauthorized", Code: http.StatusUnauthorized,
	}}
}

// validate checks the request's fields and returns the certificate's SANs:
// hostIP, hostnames and name, lower-cased, without duplicates.
func validate(req *JoinRequest) ([]string, error) {
	var causes []api.StatusCause
	bad := func(field, format string, args ...any) {
		causes = append(causes, api.StatusCause{Reason: api.CauseInvalid, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case req.Name == "":
		causes = append(causes, api.StatusCause{Reason: api.CauseRequired, Field: "name", Message: "required"})
	case !api.IsDNS1123Subdomain(req.Name):
		bad("name", "%q must be a DNS-1123 subdomain: at most 253 characters, dot-separated DNS-1123 labels", trunc(req.Name))
	}
	if req.HostIP != "" && net.ParseIP(req.HostIP) == nil {
		bad("hostIP", "%q is not an IP address", trunc(req.HostIP))
	}
	if len(req.Hostnames) > maxHostnames {
		bad("hostnames", "%d names: at most %d", len(req.Hostnames), maxHostnames)
	}
	hosts := []string{}
	seen := map[string]bool{}
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	if ip := net.ParseIP(req.HostIP); ip != nil {
		add(ip.String())
	}
	for i, h := range req.Hostnames {
		if len(req.Hostnames) > maxHostnames {
			break
		}
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		switch ip := net.ParseIP(h); {
		case ip != nil:
			add(ip.String())
		case api.IsDNS1123Subdomain(h):
			add(h)
		default:
			bad(fmt.Sprintf("hostnames[%d]", i), "%q is neither an IP address nor a DNS name", trunc(req.Hostnames[i]))
		}
	}
	if len(causes) > 0 {
		return nil, api.NewInvalid("minion", req.Name, causes)
	}
	if ip := net.ParseIP(req.Name); ip != nil {
		add(ip.String())
	} else {
		add(req.Name)
	}
	return hosts, nil
}

// parseCSR decodes and checks the signature of a PEM certificate request.
func parseCSR(p string) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("csr: want a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("csr: %s", oneLine(err.Error()))
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("csr: bad signature: %s", oneLine(err.Error()))
	}
	return csr, nil
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// writeError answers err as an api.Status with its code (500 for an error
// that is not a StatusError).
func writeError(w http.ResponseWriter, err error) {
	st := api.StatusOf(err)
	st.Kind, st.APIVersion, st.Status = "Status", api.APIVersion, "Failure"
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	st.Message = oneLine(st.Message)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st.Code)
	json.NewEncoder(w).Encode(st)
}
