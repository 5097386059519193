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
//   - no -s: the kubeconfig's server(s) and credential; without a
//     kubeconfig, http://localhost:8080 or the standalone's :8081 (plain
//     HTTP: reads from the master host itself, or an --insecure master),
//     both when neither answers (so the error names both);
//   - -s: that server, or a comma list of masters (m1:8080,m2:8080: the
//     client fails over among them, see package endpoint); HOST alone is
//     HOST:8080; when a kubeconfig names one of the same host and port, its
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
	var urls []string
	switch {
	case t.server != "":
		scheme := "http"
		if flagCred {
			scheme = "https"
		}
		if urls, err = endpoint.NormalizeList(t.server, scheme); err != nil {
			return endpoint.Endpoint{}, fmt.Errorf("-s %s: %w", t.server, err)
		}
		if kf != nil && sharesServer(kf.ep, urls) {
			// The kubeconfig knows these servers speak TLS.
			scheme, _, _ := strings.Cut(kf.ep.URL, "://")
			urls = withScheme(urls, scheme)
		} else {
			kf = nil // a credential goes only to the servers it was made for
		}
	case kf != nil:
		urls = kf.ep.URLs()
	default:
		urls = []string{DefaultServer}
		if r.Listening != nil && !r.Listening(DefaultServer) {
			if r.Listening(StandaloneServer) {
				urls = []string{StandaloneServer}
			} else {
				// Neither answers: try both, so the error names both.
				urls = append(urls, StandaloneServer)
			}
		}
	}
	ep := endpoint.List(urls)
	if kf != nil {
		ep.TLS, ep.Token = kf.ep.TLS.Clone(), kf.ep.Token
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
			return endpoint.Endpoint{}, fmt.Errorf("certificate authority %s: no PEM certificate in it", t.caFile)
		}
		ep.TLS.RootCAs = pool
	}
	return ep, nil
}

func hostPort(url string) string {
	_, hp, _ := strings.Cut(url, "://")
	return hp
}

// sharesServer reports whether one of urls is (host:port) one of ep's.
func sharesServer(ep endpoint.Endpoint, urls []string) bool {
	for _, a := range ep.URLs() {
		for _, b := range urls {
			if hostPort(a) == hostPort(b) {
				return true
			}
		}
	}
	return false
}

// withScheme returns urls with scheme.
func withScheme(urls []string, scheme string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = scheme + "://" + hostPort(u)
	}
	return out
}
