package api

import (
	"strings"
	"testing"
)

// TestResourceTable walks Resources: every row is parsed by each of its
// spellings, constructs its own type, names its kind, and (when stored)
// builds and reads back its list; no spelling or kind is claimed twice.
func TestResourceTable(t *testing.T) {
	seen := map[string]Resource{}
	kinds := map[string]bool{}
	stored := 0
	for _, info := range Resources {
		t.Run(string(info.Resource), func(t *testing.T) {
			if kinds[info.Kind] {
				t.Fatalf("kind %s in two rows", info.Kind)
			}
			kinds[info.Kind] = true
			for _, s := range append([]string{string(info.Resource), strings.ToLower(info.Kind)}, info.Aliases...) {
				if other, ok := seen[s]; ok && other != info.Resource {
					t.Fatalf("%q names both %s and %s", s, other, info.Resource)
				}
				seen[s] = info.Resource
				if got, err := ParseResource(s); err != nil || got != info.Resource {
					t.Fatalf("ParseResource(%q) = %q, %v", s, got, err)
				}
			}
			for _, w := range info.URLAliases {
				if URLResources()[w] != info.Resource || !contains(info.Aliases, w) {
					t.Fatalf("URL word %q is not one of the row's aliases", w)
				}
			}
			if URLResources()[string(info.Resource)] != info.Resource {
				t.Fatal("URLResources lacks the resource's own name")
			}
			if got, ok := Info(info.Resource); !ok || got.Kind != info.Kind || !info.Resource.Valid() {
				t.Fatalf("Info(%s) = %+v, %v", info.Resource, got, ok)
			}
			obj := New(info.Resource)
			if got, err := ResourceOf(obj); err != nil || got != info.Resource {
				t.Fatalf("ResourceOf(New(%s)) = %q, %v", info.Resource, got, err)
			}
			if got, ok := ResourceForKind(info.Kind); !ok || got != info.Resource {
				t.Fatalf("ResourceForKind(%s) = %q", info.Kind, got)
			}
			if info.Resource.Namespaced() != info.Namespaced || info.Resource.Kind() != info.Kind {
				t.Fatal("Namespaced or Kind disagree with the row")
			}
			SetKind(obj)
			if obj.Meta().Kind != info.Kind || obj.Meta().APIVersion != APIVersion {
				t.Fatalf("SetKind: %+v", obj.Meta())
			}
			if !info.Stored {
				if _, err := NewList(info.Resource, nil, 1); err == nil {
					t.Fatal("a list of an unstored resource")
				}
				return
			}
			stored++
			// Validation checks the namespace of exactly the namespaced rows.
			bad := New(info.Resource)
			bad.Meta().ID, bad.Meta().Namespace = "x", "Not_A_Label"
			flagged := false
			for _, c := range Validate(bad) {
				flagged = flagged || c.Field == "namespace"
			}
			if flagged != info.Namespaced {
				t.Fatalf("validation flags a bad namespace: %v, the row's Namespaced: %v", flagged, info.Namespaced)
			}
			if info.StoragePath == "" || strings.HasPrefix(info.StoragePath, "/") || strings.HasSuffix(info.StoragePath, "/") {
				t.Fatalf("storage path %q", info.StoragePath)
			}
			for _, other := range Resources {
				if other.Resource != info.Resource && other.StoragePath != "" &&
					(strings.HasPrefix(other.StoragePath+"/", info.StoragePath+"/") || strings.HasPrefix(info.StoragePath+"/", other.StoragePath+"/")) {
					t.Fatalf("storage paths %q and %q overlap", info.StoragePath, other.StoragePath)
				}
			}
			if len(info.Columns) == 0 || (info.Columns[0] != "NAME" && info.Resource != Events) {
				t.Fatalf("printer columns %q", info.Columns)
			}
			a, b := New(info.Resource), New(info.Resource)
			a.Meta().ID, b.Meta().ID = "a", "b"
			l, err := NewList(info.Resource, []Object{a, b}, 42)
			if err != nil {
				t.Fatal(err)
			}
			if l.Meta().Kind != info.Kind+"List" {
				t.Fatalf("list kind %q", l.Meta().Kind)
			}
			items, rv, err := ListItems(l)
			if err != nil || rv != 42 || len(items) != 2 || items[0].Meta().ID != "a" || items[1].Meta().ID != "b" {
				t.Fatalf("ListItems: %v %d %v", items, rv, err)
			}
			if got, _ := ResourceOf(items[0]); got != info.Resource {
				t.Fatalf("item of %s is a %T", info.Resource, items[0])
			}
			if empty, err := NewListObject(info.Resource); err != nil || empty.Meta().Kind != info.Kind+"List" {
				t.Fatalf("NewListObject: %v %v", empty, err)
			}
			// An item of another resource is an error, not a panic.
			for _, other := range Resources {
				if other.Resource != info.Resource {
					if _, err := NewList(info.Resource, []Object{other.New()}, 1); err == nil {
						t.Fatalf("a %s list took a %s", info.Resource, other.Resource)
					}
					break
				}
			}
		})
	}
	if stored != len(AllResources) {
		t.Fatalf("%d stored rows, AllResources has %d", stored, len(AllResources))
	}
	for _, bad := range []string{"", "widgets", "Pods"} {
		if _, err := ParseResource(bad); err == nil {
			t.Errorf("ParseResource(%q) accepted", bad)
		}
	}
	if _, err := ResourceOf(nil); err == nil {
		t.Error("ResourceOf(nil) accepted")
	}
	if _, _, err := ListItems(New(Pods)); err == nil {
		t.Error("ListItems of a pod accepted")
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
