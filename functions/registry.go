package functions

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// registry holds providers by name. Each binary registers the ones it carries, so none links a
// provider (a cloud SDK, a store driver) it cannot use.
type registry[T any] struct {
	what string // named in the error for an unknown name
	mu   sync.RWMutex
	byID map[string]T
}

func (r *registry[T]) register(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = map[string]T{}
	}
	r.byID[name] = v
}

func (r *registry[T]) lookup(name string) (T, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if v, ok := r.byID[name]; ok {
		return v, nil
	}
	names := make([]string, 0, len(r.byID))
	for n := range r.byID {
		names = append(names, n)
	}
	slices.Sort(names)
	var zero T
	return zero, fmt.Errorf("unknown or uncompiled %s %q (this binary has %s)", r.what, name, strings.Join(names, ", "))
}
