package api

import (
	"reflect"
	"sync"
	"testing"
)

// TestDeepCopyConcurrentFirstUse: many goroutines copy a type never copied
// before at once (the API server's first burst of creates); none may see a
// half-compiled copier.
func TestDeepCopyConcurrentFirstUse(t *testing.T) {
	for round := 0; round < 20; round++ {
		fixers.Range(func(k, _ any) bool { fixers.Delete(k); return true })
		pod := &Pod{TypeMeta: TypeMeta{ID: "p", Labels: map[string]string{"a": "b"}},
			DesiredState: PodState{Manifest: ContainerManifest{Containers: []Container{{Name: "c",
				Env: []EnvVar{{Name: "X", Value: "y"}}, Ports: []Port{{ContainerPort: 80}}}}}}}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if c := DeepCopy(pod); !reflect.DeepEqual(c, pod) {
					t.Errorf("copy differs: %+v", c)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
}
