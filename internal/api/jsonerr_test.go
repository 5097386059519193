package api

import (
	"encoding/json"
	"errors"
	"testing"
)

// Decode errors name the same byte whichever encoding/json is built in
// (classic or v2: go test and GOEXPERIMENT=jsonv2 go test agree).
func TestJSONErrorAt(t *testing.T) {
	type c struct {
		CPU int64 `json:"cpu"`
	}
	type p struct {
		ID         string `json:"id"`
		Containers []c    `json:"containers"`
	}
	for _, tc := range []struct {
		name, data string
		at         int64
		field      string
	}{
		{"bad byte", "{\n \"id\": \"x\",\n \"a\": }", 20, ""},
		{"trailing garbage", `{"id":"x"}{`, 10, ""},
		{"cut short", `{"id":`, 5, ""},
		{"string for a number, in a list", `{"id":"x","containers":[{"cpu":"ten"}]}`, 31, "containers.cpu"},
		{"number for a string", `{"id": 5}`, 7, "id"},
		{"bool for a string", `{"id":true}`, 6, "id"},
	} {
		var v p
		err := json.Unmarshal([]byte(tc.data), &v)
		if err == nil {
			t.Fatalf("%s: decoded", tc.name)
		}
		if got := JSONErrorAt([]byte(tc.data), err); got != tc.at {
			t.Errorf("%s: at %d (%q), want %d (%q): %v", tc.name, got, tc.data[got], tc.at, tc.data[tc.at], err)
		}
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			if got := JSONFieldPath(te.Field); got != tc.field {
				t.Errorf("%s: field %q, want %q", tc.name, got, tc.field)
			}
		}
	}
	if got := JSONErrorAt([]byte("x"), errors.New("read: connection reset")); got != -1 {
		t.Errorf("an error that is not a decode error: at %d, want -1", got)
	}
	// A type error from PodInfo's decoder, which cannot know where its value is.
	data := []byte(`{"id":"x","currentState":{"info":{"web":{"restartCount":"x"}}}}`)
	var pod Pod
	if got := JSONErrorAt(data, json.Unmarshal(data, &pod)); got != -1 {
		t.Errorf("a type error in a PodInfo: at %d, want -1", got)
	}
}

func TestJSONFieldPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"id":               "id",
		"containers.0.cpu": "containers.cpu",
		"desiredState.manifest.containers.12.ports.3.hostPort": "desiredState.manifest.containers.ports.hostPort",
		"labels.v2": "labels.v2",
	} {
		if got := JSONFieldPath(in); got != want {
			t.Errorf("JSONFieldPath(%q) = %q, want %q", in, got, want)
		}
	}
}
