package auth

import (
	"slices"
	"strings"
)

// Well-known user names and groups.
const (
	// Admin is the cluster administrator (admin.kubeconfig's token).
	Admin = "admin"
	// MasterUser is the master authenticating to kubelets (and to the API if
	// its loops are ever remote).
	MasterUser = "kubelite:master"
	// MinionPrefix starts the user name of a minion: "minion:<name>".
	MinionPrefix = "minion:"
	// LoopbackReader is the user of a plain-HTTP request from a loopback
	// address on the master host: it may only read.
	LoopbackReader = "kubelite:loopback-reader"

	// AdminsGroup members may do everything, like Admin.
	AdminsGroup = "kubelite:admins"
	// MinionsGroup holds every minion.
	MinionsGroup = "kubelite:minions"
)

// User is an authenticated identity.
type User struct {
	Name   string
	Groups []string
}

// MinionUser returns the user of minion name.
func MinionUser(name string) User {
	return User{Name: MinionPrefix + name, Groups: []string{MinionsGroup}}
}

// MinionName returns the minion's name when u is a minion ("minion:<name>",
// name not empty).
func (u User) MinionName() (string, bool) {
	name, ok := strings.CutPrefix(u.Name, MinionPrefix)
	if !ok || name == "" {
		return "", false
	}
	return name, true
}

// InGroup reports whether u is a member of group.
func (u User) InGroup(group string) bool { return slices.Contains(u.Groups, group) }
