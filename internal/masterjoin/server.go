package masterjoin

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/logging"
)

// Path is where a running master takes joins of masters.
const Path = "/v1-kubelite/join/master"

// MaxBodyBytes caps a Request.
const MaxBodyBytes = 16 << 10

// Request is what a joining master sends.
type Request struct {
	Name    string `json:"name"`    // its etcd member name
	PeerURL string `json:"peerURL"` // its etcd peer URL, as the others reach it
}

// Response is what it gets back.
type Response struct {
	// InitialCluster is its etcd's initial cluster ("name=peerURL,...").
	InitialCluster string `json:"initialCluster"`
	// Files are the identity files for DATA-DIR/pki, by file name.
	Files map[string][]byte `json:"files"`
}

// Server is the running master's side; see the package doc.
type Server struct {
	Log       *logrus.Entry // its user's logger; nil logs nothing
	Secret    func() string
	AddMember func(ctx context.Context, name, peerURL string) (string, error)
	Files     func() (map[string][]byte, error)
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`)

// Handler serves Path.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	log := logging.OrDiscard(s.Log).WithField("from", r.RemoteAddr)
	if r.Method != http.MethodPost {
		writeError(w, api.NewMethodNotAllowed(r.Method, r.URL.Path))
		return
	}
	if err := checkSecret(r.Header.Get("Authorization"), s.Secret()); err != nil {
		log.Warnf("master join refused: %s", err.Status.Message)
		writeError(w, err)
		return
	}
	var req Request
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
		writeError(w, api.NewBadRequest("master join request: read body: "+oneLine(err.Error())))
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, api.NewBadRequest("master join request: want JSON {name, peerURL}: "+oneLine(err.Error())))
		return
	}
	if se := validate(req); se != nil {
		writeError(w, se)
		return
	}
	files, err := s.Files()
	if err != nil {
		writeError(w, api.NewInternal(fmt.Errorf("read the cluster identity: %w", err)))
		return
	}
	initial, err := s.AddMember(r.Context(), req.Name, req.PeerURL)
	if err != nil {
		msg := oneLine(err.Error())
		if strings.Contains(msg, "already exist") || strings.Contains(msg, "Peer URLs already exists") {
			writeError(w, api.NewConflict("EtcdMember", req.Name, msg))
			return
		}
		writeError(w, api.NewUnavailable("add the etcd member: "+msg))
		return
	}
	log.WithFields(logrus.Fields{"member": req.Name, "peer": req.PeerURL}).Info("master joined: etcd member added, cluster identity handed over")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Response{InitialCluster: initial, Files: files})
}

func validate(req Request) *api.StatusError {
	var causes []api.StatusCause
	if !nameRE.MatchString(req.Name) {
		causes = append(causes, api.StatusCause{Reason: api.CauseInvalid, Field: "name", Message: "want lowercase letters, digits, '-' and '.', at most 63"})
	}
	u, err := url.Parse(req.PeerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" || u.Hostname() == "" || u.Path != "" {
		causes = append(causes, api.StatusCause{Reason: api.CauseInvalid, Field: "peerURL", Message: "want http(s)://HOST:PORT"})
	}
	if causes != nil {
		return api.NewInvalid("MasterJoin", req.Name, causes)
	}
	return nil
}

func checkSecret(header, secret string) *api.StatusError {
	unauthorized := func(msg string) *api.StatusError {
		e := api.NewBadRequest(msg)
		e.Status.Code, e.Status.Reason = http.StatusUnauthorized, "Unauthorized"
		return e
	}
	if secret == "" {
		return unauthorized("this master takes no master joins (no master token)")
	}
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
		return unauthorized("wrong or missing master token: run `kubelite token --master` on a running master")
	}
	return nil
}

func writeError(w http.ResponseWriter, err *api.StatusError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(err.Status.Code)
	_ = json.NewEncoder(w).Encode(err.Status)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
