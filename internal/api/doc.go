// Package api holds kubelite's v1beta1 object types (the JSON shapes of
// Kubernetes v0.6), their resource names, label and field selectors, and the
// Status error type. It is pure: no I/O, and it imports nothing else of
// kubelite. Everything depends on it; it depends on nothing.
//
// Every object embeds TypeMeta (v0.6's JSONBase plus labels), so the JSON of a
// pod has kind, id, uid, creationTimestamp, selfLink, resourceVersion,
// apiVersion, namespace, annotations and labels at its top level, exactly as
// the tutorial's files and curl output show. Object is the interface every
// stored type satisfies; New and ResourceOf map between resources and types.
//
// What kubelite knows of each resource is one row of Resources
// (resource.go): kind, namespaced, stored, the spellings the CLI and the
// URLs accept, the constructors of the object and its list, v0.6's printer
// columns and the store's directory. The CLI's parser and printers, the
// apiserver's routes and the store's key layout read it; the v1 API's row
// (internal/v1api) is checked against it by its test.
//
// Objects read from a store are the caller's own copies, but objects handed
// out by a shared cache are not: callers must Copy before mutating those.
package api
