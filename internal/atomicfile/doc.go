// Package atomicfile writes a file so that a reader (or a crash) sees the old
// contents or the new, never half of either: the bytes go to a temporary
// file beside the target, which is synced, given its mode and renamed over
// the target; the directory is then synced so the rename survives a crash.
// kubelite writes its keys, tokens, certificates and kubeconfigs this way.
package atomicfile
