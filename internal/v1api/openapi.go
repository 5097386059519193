package v1api

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// OpenAPI: the documents kubectl reads, generated once from the core/v1
// Go types by reflection (descriptions from their SwaggerDoc methods, patch
// strategies from their struct tags), for the kinds of the table and what
// they reference.
//
//	/openapi/v3            {"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=..."}}}
//	/openapi/v3/api/v1     components.schemas + the paths of every kind, whose operations
//	                       carry x-kubernetes-group-version-kind and the dryRun and
//	                       fieldValidation parameters (kubectl then validates on the server)
//	/openapi/v2            the same schemas as Swagger 2.0 definitions, JSON or the
//	                       protobuf kubectl asks for
//
// Enough for `kubectl explain` and for apply's strategic merge patches.

// openAPIDocs holds the encoded documents.
type openAPIDocs struct {
	v3root, v3, v2, v2pb []byte
	hash                 string
	err                  error
}

var (
	docsOnce sync.Once
	docs     openAPIDocs
)

func openAPI() *openAPIDocs {
	docsOnce.Do(func() { docs = buildOpenAPI() })
	return &docs
}

func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	d := openAPI()
	if d.err != nil {
		writeError(w, Request{}, d.err)
		return
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/openapi/v3":
		writeRaw(w, "application/json", d.v3root)
	case "/openapi/v3/api/v1":
		w.Header().Set("Etag", `"`+d.hash+`"`)
		writeRaw(w, "application/json", d.v3)
	case "/openapi/v2":
		if strings.Contains(r.Header.Get("Accept"), "protobuf") {
			writeRaw(w, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", d.v2pb)
			return
		}
		writeRaw(w, "application/json", d.v2)
	default:
		notFound(w, r)
	}
}

func writeRaw(w http.ResponseWriter, ct string, b []byte) {
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// schemaGen turns Go types into OpenAPI schemas; refPrefix is
// "#/definitions/" (v2) or "#/components/schemas/" (v3).
type schemaGen struct {
	refPrefix string
	defs      map[string]map[string]any
}

var (
	timeType     = reflect.TypeFor[metav1.Time]()
	microType    = reflect.TypeFor[metav1.MicroTime]()
	quantityType = reflect.TypeFor[resource.Quantity]()
	intstrType   = reflect.TypeFor[intstr.IntOrString]()
	rawExtType   = reflect.TypeFor[runtime.RawExtension]()
	durationType = reflect.TypeFor[metav1.Duration]()
	fieldsV1Type = reflect.TypeFor[metav1.FieldsV1]()
)

// defName is Kubernetes' definition name: the package path with its
// domain reversed, then the type ("io.k8s.api.core.v1.Pod").
func defName(t reflect.Type) string {
	p := t.PkgPath()
	domain, rest, _ := strings.Cut(p, "/")
	parts := strings.Split(domain, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ".") + "." + strings.ReplaceAll(rest, "/", ".") + "." + t.Name()
}

// schema returns the schema of t: a reference for named structs (defined
// once in defs), inline for everything else.
func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case timeType, microType:
		return map[string]any{"type": "string", "format": "date-time"}
	case quantityType:
		return map[string]any{"type": "string", "format": "quantity", "x-kubernetes-int-or-string": true}
	case intstrType:
		return map[string]any{"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": true}
	case rawExtType:
		return map[string]any{"type": "object"}
	case durationType:
		return map[string]any{"type": "string"}
	case fieldsV1Type:
		return map[string]any{"type": "object"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int32, reflect.Int, reflect.Int16, reflect.Int8, reflect.Uint16, reflect.Uint8:
		return map[string]any{"type": "integer", "format": "int32"}
	case reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number", "format": "double"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{"type": "object"}
	case reflect.Struct:
		name := defName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": g.refPrefix + name}
	}
	return map[string]any{}
}

// docs of a struct type, from its generated SwaggerDoc method.
func swaggerDoc(t reflect.Type) map[string]string {
	if m, ok := reflect.New(t).Elem().Interface().(interface{ SwaggerDoc() map[string]string }); ok {
		return m.SwaggerDoc()
	}
	return nil
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	doc := swaggerDoc(t)
	out := map[string]any{"type": "object", "properties": props}
	if d := doc[""]; d != "" {
		out["description"] = d
	}
	g.fields(t, props, doc)
	return out
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, doc map[string]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				sub := map[string]string{}
				for k, v := range swaggerDoc(ft) {
					sub[k] = v
				}
				for k, v := range doc {
					sub[k] = v
				}
				g.fields(ft, props, sub)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		s := g.schema(f.Type)
		if d := doc[name]; d != "" {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}, "description": d}
			} else {
				s["description"] = d
			}
		}
		if ps := f.Tag.Get("patchStrategy"); ps != "" {
			s["x-kubernetes-patch-strategy"] = ps
		}
		if mk := f.Tag.Get("patchMergeKey"); mk != "" {
			s["x-kubernetes-patch-merge-key"] = mk
		}
		props[name] = s
	}
}

// openAPIKinds are the top-level objects of the documents.
func openAPIKinds() []struct {
	k   *kind
	obj any
} {
	out := []struct {
		k   *kind
		obj any
	}{}
	for _, k := range kinds {
		out = append(out, struct {
			k   *kind
			obj any
		}{k, k.newV1()})
	}
	return out
}

func gvkExt(group, version, kind string) map[string]any {
	return map[string]any{"group": group, "version": version, "kind": kind}
}

func buildOpenAPI() openAPIDocs {
	build := func(prefix string) (map[string]map[string]any, error) {
		g := &schemaGen{refPrefix: prefix, defs: map[string]map[string]any{}}
		for _, ko := range openAPIKinds() {
			t := reflect.TypeOf(ko.obj).Elem()
			g.schema(t)
			g.defs[defName(t)]["x-kubernetes-group-version-kind"] = []any{gvkExt("", "v1", ko.k.kind)}
			lt := reflect.TypeOf(listTypes[ko.k.name]).Elem()
			g.schema(lt)
			g.defs[defName(lt)]["x-kubernetes-group-version-kind"] = []any{gvkExt("", "v1", ko.k.kind+"List")}
		}
		st := reflect.TypeFor[autoscalingv1.Scale]()
		g.schema(st)
		g.defs[defName(st)]["x-kubernetes-group-version-kind"] = []any{gvkExt("autoscaling", "v1", "Scale")}
		for _, t := range []reflect.Type{reflect.TypeFor[metav1.Status](), reflect.TypeFor[metav1.DeleteOptions](), reflect.TypeFor[metav1.WatchEvent]()} {
			g.schema(t)
		}
		for name, d := range g.defs {
			if d == nil {
				return nil, fmt.Errorf("openapi: definition %s was never built", name)
			}
		}
		return g.defs, nil
	}
	defs3, err := build("#/components/schemas/")
	if err != nil {
		return openAPIDocs{err: err}
	}
	defs2, err := build("#/definitions/")
	if err != nil {
		return openAPIDocs{err: err}
	}
	info := map[string]any{"title": "Kubernetes (kubelite)", "version": "v1"}
	v3 := map[string]any{
		"openapi": "3.0.0", "info": info, "paths": openAPIPaths(true),
		"components": map[string]any{"schemas": defs3},
	}
	v2 := map[string]any{"swagger": "2.0", "info": info, "paths": openAPIPaths(false), "definitions": defs2}
	var d openAPIDocs
	if d.v3, err = json.Marshal(v3); err != nil {
		return openAPIDocs{err: err}
	}
	sum := sha512.Sum512(d.v3)
	d.hash = strings.ToUpper(hex.EncodeToString(sum[:]))[:64]
	if d.v3root, err = json.Marshal(map[string]any{"paths": map[string]any{
		"api/v1": map[string]any{"serverRelativeURL": "/openapi/v3/api/v1?hash=" + d.hash},
	}}); err != nil {
		return openAPIDocs{err: err}
	}
	if d.v2, err = json.Marshal(v2); err != nil {
		return openAPIDocs{err: err}
	}
	doc, err := openapi_v2.ParseDocument(d.v2)
	if err != nil {
		return openAPIDocs{err: fmt.Errorf("openapi v2: %w", err)}
	}
	if d.v2pb, err = proto.Marshal(doc); err != nil {
		return openAPIDocs{err: fmt.Errorf("openapi v2 protobuf: %w", err)}
	}
	return d
}

// listTypes are the typed lists of each kind (for the documents only: the
// handler encodes lists generically).
var listTypes = map[string]any{
	"pods": &corev1.PodList{}, "replicationcontrollers": &corev1.ReplicationControllerList{},
	"services": &corev1.ServiceList{}, "endpoints": &corev1.EndpointsList{}, "nodes": &corev1.NodeList{},
	"events": &corev1.EventList{}, "namespaces": &corev1.NamespaceList{},
}

// openAPIPaths describes the operations of every kind: what kubectl checks
// for server-side validation is a PATCH with the kind's
// x-kubernetes-group-version-kind and a fieldValidation query parameter.
func openAPIPaths(v3 bool) map[string]any {
	ref := func(name string) map[string]any {
		if v3 {
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		return map[string]any{"$ref": "#/definitions/" + name}
	}
	param := func(name, in, desc string) map[string]any {
		p := map[string]any{"name": name, "in": in, "description": desc}
		if in == "path" {
			p["required"] = true
		}
		if v3 {
			p["schema"] = map[string]any{"type": "string", "uniqueItems": true}
		} else {
			p["type"] = "string"
			p["uniqueItems"] = true
		}
		return p
	}
	response := func(schema map[string]any) map[string]any {
		if v3 {
			return map[string]any{"200": map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{"schema": schema}}}}
		}
		return map[string]any{"200": map[string]any{"description": "OK", "schema": schema}}
	}
	dry := param("dryRun", "query", "When present, indicates that modifications should not be persisted. The only valid value is All.")
	fv := param("fieldValidation", "query", "Ignore, Warn (the default) or Strict: what to do with unknown or duplicate fields.")
	op := func(kindName, action, id string, params []any, schema map[string]any) map[string]any {
		return map[string]any{
			"operationId":                     id,
			"x-kubernetes-action":             action,
			"x-kubernetes-group-version-kind": gvkExt("", "v1", kindName),
			"parameters":                      params,
			"responses":                       response(schema),
		}
	}
	paths := map[string]any{}
	for _, k := range kinds {
		t := reflect.TypeOf(k.newV1()).Elem()
		obj := ref(defName(t))
		lst := ref(defName(reflect.TypeOf(listTypes[k.name]).Elem()))
		coll, item := "/api/v1/"+k.name, "/api/v1/"+k.name+"/{name}"
		var nsParam []any
		if k.namespaced {
			coll, item = "/api/v1/namespaces/{namespace}/"+k.name, "/api/v1/namespaces/{namespace}/"+k.name+"/{name}"
			nsParam = []any{param("namespace", "path", "object name and auth scope, such as for teams and projects")}
		}
		name := param("name", "path", "name of the "+k.kind)
		id := strings.ReplaceAll(k.kind, " ", "")
		c := map[string]any{"get": op(k.kind, "list", "list"+id, nsParam, lst)}
		i := map[string]any{"get": op(k.kind, "get", "read"+id, append(append([]any{}, nsParam...), name), obj)}
		if k.res != "" {
			c["post"] = op(k.kind, "post", "create"+id, append(append([]any{}, nsParam...), dry, fv), obj)
			i["put"] = op(k.kind, "put", "replace"+id, append(append([]any{}, nsParam...), name, dry, fv), obj)
			i["patch"] = op(k.kind, "patch", "patch"+id, append(append([]any{}, nsParam...), name, dry, fv), obj)
			i["delete"] = op(k.kind, "delete", "delete"+id, append(append([]any{}, nsParam...), name, dry), ref(defName(reflect.TypeFor[metav1.Status]())))
		}
		paths[coll], paths[item] = c, i
	}
	return paths
}
