package kubectl

import "testing"

// The blog's files as printed have trailing commas; v0.6 read them as YAML
// (a superset of JSON), so they create.
func TestDecodeBlogTrailingCommas(t *testing.T) {
	files := map[string]string{
		"pod.json": "{\n  \"kind\": \"Pod\",\n  \"id\": \"a\",\n}\n",
		"rc.json": "{\"kind\": \"ReplicationController\", \"id\": \"rc\",\n \"desiredState\": {\"podTemplate\": {\"desiredState\": {\"manifest\": {\"containers\": [{\n" +
			"  \"name\": \"c\", \"image\": \"nginx\", \"ports\": [{\n    \"containerPort\": 80,\n  },]}]}}}},}",
	}
	for name, data := range files {
		objs, err := decodeObjects(name, []byte(data))
		if err != nil || len(objs) != 1 {
			t.Fatalf("%s: %v %v", name, objs, err)
		}
	}
}
