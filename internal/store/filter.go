package store

import "kubelite/internal/api"

// FilterEvent turns a raw change (prev and cur, either may be nil) into the
// event a watcher with opts should see, or false when it should see nothing.
// Every implementation uses it so that watch filtering is the same everywhere.
func FilterEvent(opts ListOptions, prev, cur api.Object) (Event, bool) {
	prevOK := prev != nil && opts.Matches(prev)
	curOK := cur != nil && opts.Matches(cur)
	switch {
	case curOK && prevOK:
		return Event{Type: Modified, Object: cur}, true
	case curOK:
		return Event{Type: Added, Object: cur}, true
	case prevOK && cur != nil:
		// It stopped matching: to this watcher it is gone.
		return Event{Type: Deleted, Object: cur}, true
	case prevOK:
		return Event{Type: Deleted, Object: prev}, true
	}
	return Event{}, false
}
