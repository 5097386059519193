package kubectl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"kubelite/internal/endpoint"
	"kubelite/internal/kubeconfig"
)

// target is what the global flags and the environment say about the API
// server and the credential to present.
type target struct {
	server             string // -s, --server, $KUBERNETES_MASTER
	token              string // --token
	caFile             string // --certificate-authority
	insecureSkipVerify bool   // --insecure-skip-tls-verify
	kubeconfig         string // --kubeconfig, else $KUBECONFIG
}

// kubeconfigFile is a loaded kubeconfig and where it came from.
type kubeconfigFile struct {
	path string
	ep   endpoint.Endpoint // of its current context
}

// findKubeconfig loads --kubeconfig or $KUBECONFIG (an error when named and
// unreadable), else the first readable of r.DefaultKubeconfigs (the admin
// kubeconfig of a master or standalone on this host); nil when none.
func (r *Runner) findKubeconfig(t target) (*kubeconfigFile, error) {
	var explicit []string
	if t.kubeconfig != "" {
		explicit = []string{t.kubeconfig}
	} else if env := r.Getenv("KUBECONFIG"); env != "" {
		explicit = filepath.SplitList(env)
	}
	if t.kubeconfig != "" {
		return loadKubeconfig(t.kubeconfig)
	}
	// $KUBECONFIG: files that do not exist are skipped, as kubectl does.
	for _, p := range explicit {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return loadKubeconfig(p)
	}
	for _, p := range r.DefaultKubeconfigs {
		if kf, err := loadKubeconfig(p); err == nil {
			return kf, nil
		}
	}
	return nil, nil
}

func loadKubeconfig(path string) (*kubeconfigFile, error) {
	c, err := kubeconfig.Load(path)
	if err != nil {
		return nil, err
	}
	ep, err := c.Endpoint()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return &kubeconfigFile{path: path, ep: ep}, nil
}

// resolveEndpoint turns the flags, the environment and the kubeconfig into
// the one endpoint every call of this command uses:
//   - no -s: the kubeconfig's server and credential; without a kubeconfig,
//     http://localhost:8080 or the standalone's :8081 (plain HTTP: reads from
//     the master host itself, or an --insecure master);
//   - -s: that server; when a kubeconfig names the same host and port, its
//     TLS and credential are used (so the tutorial's -s http://MASTER:8080
//     works on the master host); a bare HOST:PORT is https when a credential
//     is known, http otherwise.
//
// --token, --certificate-authority and --insecure-skip-tls-verify override
// what the kubeconfig says.
func (r *Runner) resolveEndpoint(t target) (endpoint.Endpoint, error) {
	kf, err := r.findKubeconfig(t)
	if err != nil {
		return endpoint.Endpoint{}, err
	}
	flagCred := t.token != "" || t.caFile != "" || t.insecureSkipVerify
	var url string
	switch {
	case t.server != "":
		scheme := "http"
		if flagCred {
			scheme = "https"
		}
		if url, err = endpoint.Normalize(t.server, scheme); err != nil {
			return endpoint.Endpoint{}, err
		}
		if kf != nil && hostPort(kf.ep.URL) == hostPort(url) {
			url = kf.ep.URL // the kubeconfig knows this server speaks TLS
		} else {
			kf = nil // a credential goes only to the server it was made for
		}
	case kf != nil:
		url = kf.ep.URL
	default:
		url = DefaultServer
		if r.Listening != nil && !r.Listening(DefaultServer) && r.Listening(StandaloneServer) {
			url = StandaloneServer
		}
	}
	ep := endpoint.Endpoint{URL: url}
	if kf != nil {
		ep = kf.ep
		ep.TLS = ep.TLS.Clone()
	}
	if t.token != "" {
		ep.Token = t.token
	}
	if !ep.Secure() {
		return ep, nil
	}
	if ep.TLS == nil {
		ep.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	ep.TLS.InsecureSkipVerify = ep.TLS.InsecureSkipVerify || t.insecureSkipVerify
	if t.caFile != "" {
		caPEM, err := os.ReadFile(t.caFile)
		if err != nil {
			return endpoint.Endpoint{}, fmt.Errorf("--certificate-authority: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return endpoint.Endpoint{}, fmt.Errorf("certificate authority of %s: no PEM certificate in it", url)
		}
		ep.TLS.RootCAs = pool
	}
	return ep, nil
}

func hostPort(url string) string {
	_, hp, _ := strings.Cut(url, "://")
	return hp
}
