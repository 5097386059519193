package api

import (
	"testing"
)

// FieldOf agrees with FieldsOf on every kind and field, and a selector
// matches an object's fields read one by one (MatchesFields) exactly when
// it matches the map of them: the watch filters with the first, kubectl's
// and the API's field validation list the second.
func TestFieldOfIsFieldsOf(t *testing.T) {
	objs := []Object{
		&Pod{TypeMeta: TypeMeta{ID: "web", Namespace: "ns"}, DesiredState: PodState{Host: "m1", Status: PodRunning}, CurrentState: PodState{Host: "m2", Status: PodWaiting, Phase: PodPhaseRunning}},
		&Pod{TypeMeta: TypeMeta{ID: "new"}},
		&Event{TypeMeta: TypeMeta{ID: "e"}, InvolvedObject: ObjectReference{Name: "web", Kind: "Pod", Namespace: "ns"}, Reason: "scheduled", Source: "scheduler"},
		&Minion{TypeMeta: TypeMeta{ID: "m1"}, Status: MinionStatus{Condition: MinionReady}},
		&Service{TypeMeta: TypeMeta{ID: "svc", Namespace: "ns"}},
	}
	for _, o := range objs {
		fields := FieldsOf(o)
		for k, v := range fields {
			if got, ok := FieldOf(o, k); !ok || got != v {
				t.Errorf("%T %s: FieldOf(%q) = %q, %v; FieldsOf says %q", o, o.Meta().ID, k, got, ok, v)
			}
		}
		for _, k := range []string{"nope", "labels", "DesiredState.host"} {
			if got, ok := FieldOf(o, k); ok || got != "" {
				t.Errorf("%T: FieldOf(%q) = %q, %v; want no such field", o, k, got, ok)
			}
		}
		// Every requirement on every field (its value, another value,
		// equal and not equal) and on a field the kind lacks.
		keys := append(fieldNames(o), "nope")
		for _, k := range keys {
			for _, v := range []string{fields[k], "other", ""} {
				for _, eq := range []bool{true, false} {
					sel := Selector{reqs: []Requirement{{Key: k, Value: v, Equals: eq}}}
					if got, want := sel.MatchesFields(o), sel.Matches(fields); got != want {
						t.Errorf("%T %s: %s: MatchesFields %v, Matches(FieldsOf) %v", o, o.Meta().ID, sel, got, want)
					}
				}
			}
		}
	}
	if got := FieldsOf(&Pod{})[FieldStatusPhase]; got != string(PodPhasePending) {
		t.Errorf("a pod without a phase: Status.Phase %q, want %q", got, PodPhasePending)
	}
}
