// Package version holds kubelite's version, set at build time by the
// Makefile with -ldflags "-X kubelite/internal/version.gitVersion=...".
// Without ldflags it falls back to the VCS information Go embeds.
// Pure: no I/O besides reading the binary's own build info.
package version

import (
	"runtime/debug"
	"strings"
)

// Set by -ldflags -X; see the Makefile.
var (
	gitVersion   = ""
	gitCommit    = ""
	gitTreeState = ""
)

// Info mirrors the shape v0.6 printed and served at /version.
type Info struct {
	Major        string `json:"major"`
	Minor        string `json:"minor"`
	GitVersion   string `json:"gitVersion"`
	GitCommit    string `json:"gitCommit"`
	GitTreeState string `json:"gitTreeState"`
}

// Get returns this binary's version. Major and Minor stay those of the
// Kubernetes release kubelite reproduces (v0.6.2), as kubectl version and
// the tutorial's curl of /api/v1beta1/version show them.
func Get() Info {
	info := Info{Major: "0", Minor: "6+", GitVersion: gitVersion, GitCommit: gitCommit, GitTreeState: gitTreeState}
	if info.GitCommit == "" || info.GitTreeState == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					if info.GitCommit == "" {
						info.GitCommit = s.Value
					}
				case "vcs.modified":
					if info.GitTreeState == "" {
						info.GitTreeState = map[string]string{"true": "dirty", "false": "clean"}[s.Value]
					}
				}
			}
		}
	}
	if info.GitVersion == "" {
		info.GitVersion = "v0.6.2-kubelite-dev"
		if len(info.GitCommit) >= 7 {
			info.GitVersion += "+" + info.GitCommit[:7]
		}
	}
	return info
}

// String is the one-line form: "v0.6.2-kubelite+abc1234 (commit ..., clean)".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.GitVersion)
	if i.GitCommit != "" || i.GitTreeState != "" {
		b.WriteString(" (commit " + orUnknown(i.GitCommit) + ", " + orUnknown(i.GitTreeState) + ")")
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
