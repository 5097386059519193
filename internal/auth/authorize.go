package auth

import (
	"fmt"
	"slices"
)

// Verbs.
const (
	VerbGet      = "get"
	VerbList     = "list"
	VerbWatch    = "watch"
	VerbCreate   = "create"
	VerbUpdate   = "update"
	VerbDelete   = "delete"
	VerbProxy    = "proxy"
	VerbRedirect = "redirect"
)

// Resources, spelled as in the v1beta1 URLs.
const (
	ResourcePods                   = "pods"
	ResourceReplicationControllers = "replicationControllers"
	ResourceServices               = "services"
	ResourceEndpoints              = "endpoints"
	ResourceMinions                = "minions"
	ResourceEvents                 = "events"
	ResourceBindings               = "bindings"
)

// Attributes of a request, filled by the API server from its route.
type Attributes struct {
	Verb      string // get list watch create update delete proxy redirect
	Resource  string // pods replicationControllers services endpoints minions events bindings; "" for non-resource paths
	Namespace string
	Name      string // object id, "" for collections; for create, the id in the body
	Path      string // the URL path (non-resource requests)
}

// minionReads are the resources a minion's kubelet and proxy read.
var minionReads = []string{ResourcePods, ResourceServices, ResourceEndpoints, ResourceMinions, ResourceEvents}

// minionPaths are the non-resource paths a minion may GET.
var minionPaths = []string{"/version", "/healthz", "/livez", "/readyz", "/api"}

func isRead(verb string) bool { return verb == VerbGet || verb == VerbList || verb == VerbWatch }

// Authorize is the fixed policy:
//
//	admin, group kubelite:admins:  everything
//	kubelite:master:               everything
//	minion:NAME:                   get/list/watch pods, services, endpoints, minions, events;
//	                               create/update minion NAME (no other, no delete);
//	                               update pods (the API server then checks the pod is bound
//	                               to NAME and only its status changes); create events;
//	                               get /version, /healthz, /livez, /readyz, /api
//	kubelite:loopback-reader:      get/list/watch of every resource and path
//	anyone else:                   nothing
//
// The reason is one line: who was allowed or refused what.
func Authorize(u User, a Attributes) (bool, string) {
	switch {
	case u.Name == Admin || u.InGroup(AdminsGroup):
		return true, fmt.Sprintf("user %q is an admin", u.Name)
	case u.Name == MasterUser:
		return true, fmt.Sprintf("user %q is the master", u.Name)
	case u.Name == LoopbackReader:
		if isRead(a.Verb) {
			return true, fmt.Sprintf("user %q may read", u.Name)
		}
		return false, refused(u, a) + " (plain HTTP from loopback may only read: use https and a token)"
	}
	if name, ok := u.MinionName(); ok {
		if minionMay(name, a) {
			return true, fmt.Sprintf("user %q may %s", u.Name, what(a))
		}
		return false, refused(u, a)
	}
	return false, refused(u, a)
}

func minionMay(name string, a Attributes) bool {
	if a.Resource == "" {
		return a.Verb == VerbGet && slices.Contains(minionPaths, a.Path)
	}
	switch {
	case isRead(a.Verb):
		return slices.Contains(minionReads, a.Resource)
	case a.Resource == ResourceMinions:
		return (a.Verb == VerbCreate || a.Verb == VerbUpdate) && a.Name == name
	case a.Resource == ResourcePods:
		return a.Verb == VerbUpdate && a.Name != ""
	case a.Resource == ResourceEvents:
		return a.Verb == VerbCreate
	}
	return false
}

func refused(u User, a Attributes) string {
	who := u.Name
	if who == "" {
		return fmt.Sprintf("anonymous may not %s", what(a))
	}
	return fmt.Sprintf("user %q may not %s", who, what(a))
}

// what is "create pods", "update minions/m2", "get /metrics".
func what(a Attributes) string {
	verb := a.Verb
	if verb == "" {
		verb = "(no verb)"
	}
	if a.Resource == "" {
		return verb + " " + a.Path
	}
	if a.Name != "" {
		return verb + " " + a.Resource + "/" + a.Name
	}
	return verb + " " + a.Resource
}
