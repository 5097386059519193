package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"testing"
	"time"
)

// imageID returns the ID of the image ref on the engine at endpoint, or ""
// when there is none.
func imageID(ctx context.Context, endpoint, ref string) (string, error) {
	c, base, err := dockerClient(endpoint)
	if err != nil {
		return "", err
	}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/images/"+url.PathEscape(ref)+"/json", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return "", nil
	default:
		return "", fmt.Errorf("inspect image %s: status %s", ref, resp.Status)
	}
	var img struct {
		ID string `json:"Id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&img); err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return img.ID, nil
}

// removeImage removes the image id unless a container still uses it
// (no force); a missing image is not an error.
func removeImage(ctx context.Context, endpoint, id string) error {
	c, base, err := dockerClient(endpoint)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, base+"/images/"+url.PathEscape(id), nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("remove image %s: %w", id, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNotFound:
		return nil
	default:
		return fmt.Errorf("remove image %s: status %s", id, resp.Status)
	}
}

// replaced returns the old image IDs that no ref names any more.
func replaced(before, after map[string]string) []string {
	still := map[string]bool{}
	for _, id := range after {
		still[id] = true
	}
	seen := map[string]bool{}
	var out []string
	refs := make([]string, 0, len(before))
	for ref := range before {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		id := before[ref]
		if id != "" && !still[id] && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// RebuildImages runs build, which (re)builds the images refs on the engine
// at DockerHost, and then removes each image one of refs named before and no
// longer names, so rebuilding test images run after run leaves no untagged
// images behind. An old image a container still uses stays (no force); that
// is logged, not failed.
func RebuildImages(t testing.TB, build func() error, refs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := func() map[string]string {
		m := map[string]string{}
		for _, ref := range refs {
			id, err := imageID(ctx, DockerHost(), ref)
			if err != nil {
				t.Fatalf("rebuild images: %v", err)
			}
			m[ref] = id
		}
		return m
	}
	before := ids()
	if err := build(); err != nil {
		t.Fatalf("build images %v: %v", refs, err)
	}
	for _, id := range replaced(before, ids()) {
		if err := removeImage(ctx, DockerHost(), id); err != nil {
			t.Logf("rebuild images: old image kept: %v", err)
		}
	}
}
