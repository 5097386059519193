package auth

import (
	"testing"
)

func TestAuthorize(t *testing.T) {
	admin := User{Name: Admin}
	adminGroup := User{Name: "alice", Groups: []string{AdminsGroup}}
	master := User{Name: MasterUser}
	m1 := MinionUser("m1")
	loop := User{Name: LoopbackReader}
	bob := User{Name: "bob", Groups: []string{MinionsGroup}}
	anon := User{}
	res := func(verb, resource, name string) Attributes {
		return Attributes{Verb: verb, Resource: resource, Namespace: "default", Name: name}
	}
	path := func(verb, p string) Attributes { return Attributes{Verb: verb, Path: p} }

	tests := []struct {
		user   User
		attrs  Attributes
		want   bool
		reason string // checked when not empty
	}{
		// admin and the admins group: everything.
		{admin, res("delete", "pods", "p"), true, `user "admin" is an admin`},
		{admin, res("proxy", "minions", "m1"), true, ""},
		{admin, path("get", "/metrics"), true, ""},
		{adminGroup, res("create", "bindings", ""), true, ""},
		{adminGroup, res("update", "replicationControllers", "rc"), true, ""},
		// the master: everything.
		{master, res("delete", "minions", "m1"), true, ""},
		{master, res("redirect", "pods", "p"), true, ""},
		{master, path("get", "/logs/"), true, ""},

		// a minion reads what the kubelet and proxy need.
		{m1, res("get", "pods", "p"), true, ""},
		{m1, res("list", "pods", ""), true, ""},
		{m1, res("watch", "pods", ""), true, `user "minion:m1" may watch pods`},
		{m1, res("watch", "services", ""), true, ""},
		{m1, res("list", "endpoints", ""), true, ""},
		{m1, res("get", "minions", "m2"), true, ""},
		{m1, res("list", "events", ""), true, ""},
		{m1, res("list", "replicationControllers", ""), false, ""},
		{m1, res("get", "bindings", ""), false, ""},
		// its own minion object only, never delete.
		{m1, res("create", "minions", "m1"), true, ""},
		{m1, res("update", "minions", "m1"), true, ""},
		{m1, res("create", "minions", "m2"), false, `user "minion:m1" may not create minions/m2`},
		{m1, res("update", "minions", "m2"), false, ""},
		{m1, res("create", "minions", ""), false, ""},
		{m1, res("delete", "minions", "m1"), false, `user "minion:m1" may not delete minions/m1`},
		// pods: update (status, checked by the server), nothing else.
		{m1, res("update", "pods", "p"), true, ""},
		{m1, res("update", "pods", ""), false, ""},
		{m1, res("create", "pods", ""), false, `user "minion:m1" may not create pods`},
		{m1, res("delete", "pods", "p"), false, ""},
		{m1, res("proxy", "pods", "p"), false, ""},
		{m1, res("redirect", "pods", "p"), false, ""},
		// events: create only.
		{m1, res("create", "events", ""), true, ""},
		{m1, res("update", "events", "e"), false, ""},
		{m1, res("delete", "events", "e"), false, ""},
		// no writes of services, endpoints, rcs, bindings.
		{m1, res("create", "services", ""), false, ""},
		{m1, res("update", "endpoints", "s"), false, ""},
		{m1, res("create", "replicationControllers", ""), false, ""},
		{m1, res("update", "replicationControllers", "rc"), false, ""},
		{m1, res("create", "bindings", ""), false, ""},
		{m1, res("proxy", "minions", "m1"), false, ""},
		{m1, res("frobnicate", "pods", "p"), false, ""},
		// non-resource paths.
		{m1, path("get", "/version"), true, ""},
		{m1, path("get", "/healthz"), true, ""},
		{m1, path("get", "/api"), true, ""},
		{m1, path("get", "/metrics"), false, `user "minion:m1" may not get /metrics`},
		{m1, path("create", "/api"), false, ""},
		{User{Name: "minion:"}, res("get", "pods", ""), false, ""},

		// the loopback reader: reads of everything, no write, no proxy.
		{loop, res("get", "pods", "p"), true, ""},
		{loop, res("list", "replicationControllers", ""), true, ""},
		{loop, res("watch", "events", ""), true, ""},
		{loop, path("get", "/metrics"), true, ""},
		{loop, res("create", "pods", ""), false, `user "kubelite:loopback-reader" may not create pods (plain HTTP from loopback may only read: use https and a token)`},
		{loop, res("delete", "pods", "p"), false, ""},
		{loop, res("proxy", "pods", "p"), false, ""},
		{loop, res("redirect", "services", "s"), false, ""},

		// anyone else: nothing, even in the minions group.
		{bob, res("get", "pods", "p"), false, `user "bob" may not get pods/p`},
		{bob, path("get", "/version"), false, ""},
		{anon, res("list", "pods", ""), false, "anonymous may not list pods"},
		{anon, path("get", "/healthz"), false, ""},
		{User{Name: "Admin"}, res("get", "pods", ""), false, ""},
	}
	for _, tc := range tests {
		got, reason := Authorize(tc.user, tc.attrs)
		if got != tc.want {
			t.Errorf("Authorize(%q, %+v) = %v (%s), want %v", tc.user.Name, tc.attrs, got, reason, tc.want)
		}
		if tc.reason != "" && reason != tc.reason {
			t.Errorf("Authorize(%q, %+v) reason %q, want %q", tc.user.Name, tc.attrs, reason, tc.reason)
		}
		if reason == "" {
			t.Errorf("Authorize(%q, %+v): empty reason", tc.user.Name, tc.attrs)
		}
	}
}
