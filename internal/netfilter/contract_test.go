package netfilter

import (
	"os"
	"slices"
	"strings"
	"testing"

	"kubelite/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunInNetns(m, testutil.DefaultNetns)) }

// contract checks the behaviour the package doc promises, against any Interface.
func contract(t *testing.T, nf Interface) {
	const a, b, c = Chain("KLTEST-A"), Chain("KLTEST-B"), Chain("KLTEST-C")
	cleanup := func() {
		_ = nf.DeleteRule(TableNAT, ChainOutput, "-j", string(a))
		var bl Builder
		save, err := nf.Save(TableNAT)
		if err != nil {
			return
		}
		for _, ch := range Chains(save, TableNAT) {
			if strings.HasPrefix(string(ch), "KLTEST-") {
				bl.DeleteChain(TableNAT, ch)
			}
		}
		if !bl.Empty() {
			_ = nf.Restore(bl.Bytes())
		}
	}
	cleanup()
	t.Cleanup(cleanup)

	words := func(t *testing.T, chain Chain) [][]string {
		t.Helper()
		save, err := nf.Save(TableNAT)
		if err != nil {
			t.Fatalf("save: %v", err)
		}
		var out [][]string
		for _, r := range Rules(save, TableNAT, chain) {
			w, err := Split(r)
			if err != nil {
				t.Fatalf("split %q: %v", r, err)
			}
			out = append(out, w)
		}
		return out
	}
	hasChain := func(t *testing.T, chain Chain) bool {
		t.Helper()
		save, err := nf.Save(TableNAT)
		if err != nil {
			t.Fatalf("save: %v", err)
		}
		return slices.Contains(Chains(save, TableNAT), chain)
	}

	// One transaction creates chains and rules, comments with spaces survive.
	var bl Builder
	bl.DeclareChain(TableNAT, a)
	bl.DeclareChain(TableNAT, b)
	bl.AddRule(TableNAT, a, "-m", "comment", "--comment", "default/web portal", "-d", "10.254.0.7/32", "-p", "tcp", "--dport", "8080", "-j", string(b))
	bl.AddRule(TableNAT, b, "-p", "tcp", "-j", "DNAT", "--to-destination", "10.99.1.1:80")
	bl.AddRule(TableNAT, b, "-p", "tcp", "-j", "DNAT", "--to-destination", "10.99.1.2:80")
	if err := nf.Restore(bl.Bytes()); err != nil {
		t.Fatalf("restore: %v", err)
	}
	ra := words(t, a)
	if len(ra) != 1 || !slices.Contains(ra[0], "default/web portal") || ra[0][len(ra[0])-1] != string(b) {
		t.Fatalf("chain A rules = %q, want one jump to B with the comment", ra)
	}
	if rb := words(t, b); len(rb) != 2 || !slices.Contains(rb[1], "10.99.1.2:80") {
		t.Fatalf("chain B rules = %q, want two DNAT rules", rb)
	}

	// All or nothing: a bad line leaves everything as it was.
	bad := []byte("*nat\n:" + string(a) + " - [0:0]\n:" + string(c) + " - [0:0]\n-A " + string(c) + " -j KLTEST-MISSING\nCOMMIT\n")
	if err := nf.Restore(bad); err == nil {
		t.Fatalf("restore of a jump to a missing chain succeeded")
	}
	if hasChain(t, c) {
		t.Errorf("failed restore created chain C")
	}
	if ra := words(t, a); len(ra) != 1 {
		t.Errorf("failed restore changed chain A: %q", ra)
	}

	// Declaring a chain flushes it; chains not named stay (--noflush).
	var bl2 Builder
	bl2.DeclareChain(TableNAT, b)
	bl2.AddRule(TableNAT, b, "-p", "udp", "-j", "DNAT", "--to-destination", "10.99.1.3:53")
	if err := nf.Restore(bl2.Bytes()); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if rb := words(t, b); len(rb) != 1 || !slices.Contains(rb[0], "10.99.1.3:53") {
		t.Errorf("re-declared chain B = %q, want only the new rule", rb)
	}
	if ra := words(t, a); len(ra) != 1 {
		t.Errorf("chain A not named in restore changed: %q", ra)
	}

	// EnsureChain and EnsureRule are idempotent.
	for i := 0; i < 2; i++ {
		if err := nf.EnsureChain(TableNAT, c); err != nil {
			t.Fatalf("ensure chain (%d): %v", i, err)
		}
	}
	if !hasChain(t, c) {
		t.Errorf("EnsureChain did not create C")
	}
	for i, want := range []bool{false, true} {
		existed, err := nf.EnsureRule(Prepend, TableNAT, ChainOutput, "-j", string(a))
		if err != nil {
			t.Fatalf("ensure rule (%d): %v", i, err)
		}
		if existed != want {
			t.Errorf("ensure rule call %d: existed = %v, want %v", i, existed, want)
		}
	}
	if ro := words(t, ChainOutput); len(ro) != 1 {
		t.Errorf("OUTPUT rules = %q, want exactly one jump", ro)
	}

	// A chain still jumped to cannot be deleted; after the jump goes it can.
	var del Builder
	del.DeleteChain(TableNAT, a)
	if err := nf.Restore(del.Bytes()); err == nil {
		t.Errorf("deleting a referenced chain succeeded")
	}
	if err := nf.DeleteRule(TableNAT, ChainOutput, "-j", string(a)); err != nil {
		t.Fatalf("delete rule: %v", err)
	}
	if err := nf.DeleteRule(TableNAT, ChainOutput, "-j", string(a)); err != nil {
		t.Errorf("delete of a missing rule: %v", err)
	}
	if err := nf.DeleteRule(TableNAT, "KLTEST-NOCHAIN", "-j", "ACCEPT"); err != nil {
		t.Errorf("delete from a missing chain: %v", err)
	}
	if err := nf.Restore(del.Bytes()); err != nil {
		t.Fatalf("delete chain A: %v", err)
	}
	if hasChain(t, a) || !hasChain(t, b) {
		t.Errorf("after deleting A: has A = %v, has B = %v; want false, true", hasChain(t, a), hasChain(t, b))
	}
}

func TestContractFake(t *testing.T) { contract(t, NewFake()) }

func TestContractIptables(t *testing.T) {
	testutil.RequireNetns(t)
	nf, err := New()
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	contract(t, nf)
}
