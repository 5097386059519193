package v1api

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"kubelite/internal/api"
)

// PATCH: the stored object in its v1 form, patched (RFC 6902 JSON patch,
// RFC 7386 merge patch, or Kubernetes' strategic merge patch with the
// core/v1 types' patch strategies), decoded as a body and stored by
// compare-and-swap; a conflict with a concurrent write re-reads and
// patches again (a patch that names a resourceVersion is not retried).
// Server-side apply (application/apply-patch+yaml) is 415.

const patchRetries = 5

// applyPatch patches doc (JSON) with a patch of content type ct; dataStruct
// gives the strategic merge patch its merge keys.
func applyPatch(ct string, doc, patch []byte, dataStruct any) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = ct
	}
	switch mt {
	case "application/json-patch+json":
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, badRequest("invalid JSON patch: " + err.Error())
		}
		out, err := p.Apply(doc)
		if err != nil {
			return nil, &api.StatusError{Status: api.Status{Code: http.StatusUnprocessableEntity, Reason: api.ReasonInvalid, Message: "JSON patch: " + err.Error()}}
		}
		return out, nil
	case "application/merge-patch+json":
		out, err := jsonpatch.MergePatch(doc, patch)
		if err != nil {
			return nil, badRequest("invalid merge patch: " + err.Error())
		}
		return out, nil
	case "application/strategic-merge-patch+json":
		out, err := strategicpatch.StrategicMergePatch(doc, patch, dataStruct)
		if err != nil {
			return nil, badRequest("invalid strategic merge patch: " + err.Error())
		}
		return out, nil
	case "application/apply-patch+yaml", "application/apply-patch+cbor":
		return nil, &api.StatusError{Status: api.Status{Code: http.StatusUnsupportedMediaType, Reason: "UnsupportedMediaType",
			Message: "kubelite has no server-side apply: use client-side kubectl apply (without --server-side)"}}
	}
	return nil, &api.StatusError{Status: api.Status{Code: http.StatusUnsupportedMediaType, Reason: "UnsupportedMediaType",
		Message: fmt.Sprintf("the body of the request was in an unknown format %q: want application/json-patch+json, application/merge-patch+json or application/strategic-merge-patch+json", ct)}}
}

func (h *Handler) servePatch(w http.ResponseWriter, r *http.Request, req Request) {
	patch, err := readBody(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		writeError(w, req, err)
		return
	}
	mode, err := fieldValidation(r)
	if err != nil {
		writeError(w, req, err)
		return
	}
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, req, err)
		return
	}
	ct := r.Header.Get("Content-Type")
	for attempt := 0; ; attempt++ {
		cur, err := h.get(r.Context(), req)
		if err != nil {
			writeError(w, req, err)
			return
		}
		curV1 := req.kind.toV1(cur)
		doc, err := json.Marshal(curV1)
		if err != nil {
			writeError(w, req, err)
			return
		}
		patched, err := applyPatch(ct, doc, patch, req.kind.newV1())
		if err != nil {
			writeError(w, req, err)
			return
		}
		in, warnings, err := decodeObject(patched, req.kind, mode)
		if err != nil {
			writeError(w, req, err)
			return
		}
		om := objectMeta(in)
		if om.Name != req.Name || (req.kind.namespaced && om.Namespace != cur.Meta().Namespace) {
			writeError(w, req, badRequest("a patch cannot change an object's name or namespace"))
			return
		}
		pinned := om.ResourceVersion != objectMeta(curV1).ResourceVersion
		out, err := h.store(r, req, in, cur, dry)
		if api.IsConflict(err) && !pinned && attempt < patchRetries {
			continue
		}
		if err != nil {
			writeError(w, req, err)
			return
		}
		setWarnings(w, warnings)
		h.writeObject(w, r, req, http.StatusOK, out)
		return
	}
}

// ---- the scale subresource of replication controllers ----

func scaleOf(rc *api.ReplicationController) *autoscalingv1.Scale {
	m := metaToV1(&rc.TypeMeta)
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
			CreationTimestamp: m.CreationTimestamp,
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: int32(rc.DesiredState.Replicas)},
		Status: autoscalingv1.ScaleStatus{Replicas: int32(rc.CurrentState.Replicas), Selector: api.FormatLabels(rc.DesiredState.ReplicaSelector)},
	}
}

func (h *Handler) getRC(r *http.Request, req Request) (*api.ReplicationController, error) {
	obj, err := h.get(r.Context(), req)
	if err != nil {
		return nil, err
	}
	return obj.(*api.ReplicationController), nil
}

func (h *Handler) serveScaleGet(w http.ResponseWriter, r *http.Request, req Request) {
	rc, err := h.getRC(r, req)
	if err != nil {
		writeError(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, scaleOf(rc))
}

// serveScaleUpdate stores a Scale (the body, or in when patched).
func (h *Handler) serveScaleUpdate(w http.ResponseWriter, r *http.Request, req Request, in *autoscalingv1.Scale) {
	if in == nil {
		data, err := readBody(w, r, h.cfg.MaxBodyBytes)
		switch {
		case err != nil:
		case isProtobuf(r):
			in = &autoscalingv1.Scale{}
			err = fromProtobuf(data, in)
		default:
			in, err = decodeScale(data)
		}
		if err != nil {
			writeError(w, req, err)
			return
		}
	}
	out, err := h.scale(r, req, in)
	if err != nil {
		writeError(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func decodeScale(data []byte) (*autoscalingv1.Scale, error) {
	js, err := ToJSON(data)
	if err != nil {
		return nil, badRequest("Scale body: " + err.Error())
	}
	var s autoscalingv1.Scale
	if err := json.Unmarshal(js, &s); err != nil {
		return nil, badRequest("Scale body: " + err.Error())
	}
	return &s, nil
}

// scale sets an RC's replicas from a Scale; its resourceVersion, if any,
// makes it a compare-and-swap.
func (h *Handler) scale(r *http.Request, req Request, in *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	dry, err := dryRun(r)
	if err != nil {
		return nil, err
	}
	if in.Name != "" && in.Name != req.Name {
		return nil, badRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", in.Name, req.Name))
	}
	if in.Spec.Replicas < 0 {
		return nil, api.NewInvalid("Scale", req.Name, []api.StatusCause{{Reason: api.CauseInvalid, Field: "spec.replicas", Message: "must be greater than or equal to 0"}})
	}
	rc, err := h.getRC(r, req)
	if err != nil {
		return nil, err
	}
	if in.ResourceVersion != "" {
		rv, err := strconv.ParseUint(in.ResourceVersion, 10, 64)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("invalid resourceVersion %q", in.ResourceVersion))
		}
		if rv != rc.ResourceVersion {
			return nil, api.NewConflict("ReplicationController", req.Name, "the object has been modified; please apply your changes to the latest version and try again")
		}
	}
	rc.DesiredState.Replicas = int(in.Spec.Replicas)
	obj, err := h.admit(r, req.InternalResource, rc)
	if err != nil {
		return nil, err
	}
	if dry {
		if err := checkDry(obj); err != nil {
			return nil, err
		}
		return scaleOf(obj.(*api.ReplicationController)), nil
	}
	out, err := h.cfg.Store.Update(r.Context(), obj)
	if err != nil {
		return nil, err
	}
	return scaleOf(out.(*api.ReplicationController)), nil
}

func (h *Handler) serveScalePatch(w http.ResponseWriter, r *http.Request, req Request) {
	patch, err := readBody(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		writeError(w, req, err)
		return
	}
	for attempt := 0; ; attempt++ {
		rc, err := h.getRC(r, req)
		if err != nil {
			writeError(w, req, err)
			return
		}
		cur := scaleOf(rc)
		doc, _ := json.Marshal(cur)
		patched, err := applyPatch(r.Header.Get("Content-Type"), doc, patch, &autoscalingv1.Scale{})
		if err != nil {
			writeError(w, req, err)
			return
		}
		in, err := decodeScale(patched)
		if err != nil {
			writeError(w, req, err)
			return
		}
		pinned := in.ResourceVersion != cur.ResourceVersion
		out, err := h.scale(r, req, in)
		if api.IsConflict(err) && !pinned && attempt < patchRetries {
			continue
		}
		if err != nil {
			writeError(w, req, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
}

var _ runtime.Object = (*autoscalingv1.Scale)(nil)
