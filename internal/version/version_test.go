package version

import "testing"

func TestGet(t *testing.T) {
	old := []string{gitVersion, gitCommit, gitTreeState}
	t.Cleanup(func() { gitVersion, gitCommit, gitTreeState = old[0], old[1], old[2] })
	gitVersion, gitCommit, gitTreeState = "v0.6.2-kubelite.1", "abcdef0123", "clean"
	got := Get()
	want := Info{Major: "0", Minor: "6+", GitVersion: "v0.6.2-kubelite.1", GitCommit: "abcdef0123", GitTreeState: "clean"}
	if got != want {
		t.Errorf("Get() = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "v0.6.2-kubelite.1 (commit abcdef0123, clean)" {
		t.Errorf("String() = %q", s)
	}
	gitVersion, gitCommit = "", "1234567890"
	if v := Get().GitVersion; v != "v0.6.2-kubelite-dev+1234567" {
		t.Errorf("fallback GitVersion = %q", v)
	}
}
