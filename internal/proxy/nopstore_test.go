package proxy

import (
	"context"
	"errors"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// nopStore satisfies Config.Store for tests that call syncObjects directly.
type nopStore struct{}

var errNop = errors.New("nop store")

func (nopStore) Get(context.Context, api.Resource, string, string) (api.Object, error) {
	return nil, errNop
}
func (nopStore) List(context.Context, api.Resource, store.ListOptions) ([]api.Object, uint64, error) {
	return nil, 0, errNop
}
func (nopStore) Create(context.Context, api.Object) (api.Object, error) { return nil, errNop }
func (nopStore) Update(context.Context, api.Object) (api.Object, error) { return nil, errNop }
func (nopStore) Delete(context.Context, api.Resource, string, string) (api.Object, error) {
	return nil, errNop
}
func (nopStore) Watch(context.Context, api.Resource, store.ListOptions) (<-chan store.Event, error) {
	return nil, errNop
}
