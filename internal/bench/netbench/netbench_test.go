package netbench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"kubelite/internal/testutil"
)

// TestChildRefusesHostNamespace: run by hand (no parent namespace recorded,
// or the same one), the child touches nothing.
func TestChildRefusesHostNamespace(t *testing.T) {
	t.Setenv(parentEnv, "")
	var out bytes.Buffer
	err := Child(context.Background(), `{"kind":"rules-sync","services":1,"endpoints":1,"runs":1}`, &out)
	if err == nil || !strings.Contains(err.Error(), "namespace of its own") {
		t.Fatalf("Child outside a private namespace: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q", out.String())
	}
}

// TestInPrivateNamespace runs both measurements, small, through the kubelite
// binary in a namespace of its own (root and iptables required).
func TestInPrivateNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	bin := testutil.KubeliteBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, mode := range []string{"iptables", "userspace"} {
		r, err := ProxyThroughput(ctx, bin, mode, 200*time.Millisecond)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if r.PortalReqPerSec <= 0 || r.DirectReqPerSec <= 0 || r.PortalMBPerSec <= 0 || r.DirectMBPerSec <= 0 {
			t.Errorf("%s: %+v", mode, r)
		}
	}
	ds, err := RulesSync(ctx, bin, 50, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0] <= 0 || ds[1] <= 0 {
		t.Errorf("syncs %v", ds)
	}
	if _, err := ProxyThroughput(ctx, bin, "none", time.Millisecond); err == nil {
		t.Error("proxy mode none measured")
	}
}
