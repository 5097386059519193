package api

import "strings"

// ObjectKey is a parsed Key: the namespace ("" for minions) and the id.
type ObjectKey struct {
	Namespace string
	ID        string
}

// ParseKey is Key's inverse: "namespace/id" or, for minions, "id".
func ParseKey(key string) ObjectKey {
	if ns, id, ok := strings.Cut(key, "/"); ok {
		return ObjectKey{Namespace: ns, ID: id}
	}
	return ObjectKey{ID: key}
}

// String returns the key, as Key does.
func (k ObjectKey) String() string {
	if k.Namespace == "" {
		return k.ID
	}
	return k.Namespace + "/" + k.ID
}

// NamespaceOrDefault returns the namespace, or DefaultNamespace when it is
// empty (as the store reads a namespaced object's empty namespace).
func (k ObjectKey) NamespaceOrDefault() string {
	if k.Namespace == "" {
		return DefaultNamespace
	}
	return k.Namespace
}
