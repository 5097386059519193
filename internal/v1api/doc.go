// Package v1api serves the core group of today's Kubernetes API (/api/v1)
// beside kubelite's v1beta1, over the same store.Store, so that today's
// kubectl (1.27 to 1.33 tested) and client-go programs drive a kubelite
// cluster. It is mounted by internal/apiserver (one route line) behind the
// same authentication; the wire types are the ecosystem's own
// (k8s.io/api/core/v1, k8s.io/apimachinery for meta, patches, selectors),
// client-go is never imported outside tests.
//
// One store, two dialects: every object is stored as v1beta1 and converted
// on the way in and out (convert.go). ToV1 is total; FromV1 writes what v1
// can say over the stored object, so fields v1 has no place for survive a
// v1 update. Round trips internal -> v1 -> internal are lossless (fuzzed:
// FuzzRoundTrip). Nodes are v1beta1's minions; namespaces are synthetic and
// read-only: default, kube-system, and every namespace an object lives in.
//
// Paths (kinds.go holds one row per resource: names, conversion, selectable
// fields, table columns; discovery, routing, OpenAPI and tables walk it):
//
//	/api                                    APIVersions: v1 only (client-go would look for the resources
//	                                        of any other version listed, and fail on v1beta1's shapes)
//	/apis                                   an empty APIGroupList
//	/api/v1                                 the APIResourceList (with pods/log, pods/status, rc/scale...)
//	/api/v1/[namespaces/<ns>/]<res>         list (?labelSelector set-based too, ?fieldSelector),
//	                                        watch (?watch=true), create, deletecollection
//	/api/v1/[namespaces/<ns>/]<res>/<name>  get, update (PUT), patch, delete
//	/api/v1/namespaces/<ns>/pods/<p>/log    the container's log (?container, ?follow, ?tailLines) through the
//	                                        v1beta1 proxy to the pod's kubelet
//	/api/v1/namespaces/<ns>/replicationcontrollers/<rc>/scale   autoscaling/v1 Scale: get, update, patch
//	/openapi/v2, /openapi/v3[/api/v1]       generated from the Go types (explain, apply, validation)
//
// Semantics:
//   - Lists and gets answer a meta.k8s.io/v1 Table when Accept asks for
//     one (kubectl get), with the columns users know (pods NAME READY STATUS
//     RESTARTS AGE, IP and NODE at priority 1 for -o wide), or
//     PartialObjectMetadata.
//   - Lists page (?limit, ?continue): every page is cut from one snapshot
//     taken at the first page's revision, kept SnapshotTTL; an expired
//     token is 410 Expired (paging.go).
//   - Watches: see watch.go (resourceVersion, 410 Expired when compacted,
//     initial events and the watch-list bookmark, timeoutSeconds).
//   - Writes: bodies are JSON or YAML (trailing commas accepted), or
//     Kubernetes' protobuf (client-go's default); field names exact;
//     ?fieldValidation=Strict|Warn|Ignore, ?dryRun=All (defaults and
//     validation, nothing stored). Validation errors name v1 field paths
//     (kind.fieldPaths). PATCH takes JSON patch, merge patch and
//     strategic merge patch; server-side apply is 415. DELETE of an RC
//     deletes its pods unless propagationPolicy=Orphan (v1beta1 always
//     orphans); preconditions are honoured.
//   - Errors are metav1.Status with the HTTP code; no client input gives
//     a 5xx (FuzzV1Handlers).
//   - Config.Admit applies the v1beta1 API's per-user write rules (a
//     minion writes only its own node and its pods' status).
package v1api
