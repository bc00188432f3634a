package stores

import (
	"context"
	"sync"
)

// Memory is an in-memory KeyValue, safe for concurrent use. Its zero value is
// an empty store, ready to use.
//
// Values are stored as given: a V holding references (a map, a slice, a
// pointer) is shared between the writer and every reader. Store values, or
// wrap a Codec-backed store, when that matters.
//
// Memory is linearizable: a Put is visible to every Get that starts after it
// returned.
type Memory[V any] struct {
	mu struct {
		sync.RWMutex
		m map[string]V
	}
}

var _ KeyValue[int] = (*Memory[int])(nil)

// NewMemory returns an empty Memory store.
func NewMemory[V any]() *Memory[V] { return new(Memory[V]) }

// Get returns the value of key. It fails only if ctx is done.
func (s *Memory[V]) Get(ctx context.Context, key string) (V, bool, error) {
	if err := ctx.Err(); err != nil {
		var zero V
		return zero, false, &OpError{Store: "memory", Op: "get", Key: key, Err: err}
	}
	s.mu.RLock()
	v, ok := s.mu.m[key]
	s.mu.RUnlock()
	return v, ok, nil
}

// Put sets the value of key. It fails, without effect, only if ctx is done.
func (s *Memory[V]) Put(ctx context.Context, key string, v V) error {
	if err := ctx.Err(); err != nil {
		return &OpError{Store: "memory", Op: "put", Key: key, Err: err}
	}
	s.mu.Lock()
	if s.mu.m == nil {
		s.mu.m = make(map[string]V)
	}
	s.mu.m[key] = v
	s.mu.Unlock()
	return nil
}

// Delete removes key. It fails, without effect, only if ctx is done.
func (s *Memory[V]) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return &OpError{Store: "memory", Op: "delete", Key: key, Err: err}
	}
	s.mu.Lock()
	delete(s.mu.m, key)
	s.mu.Unlock()
	return nil
}

// Len returns the number of keys.
func (s *Memory[V]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.mu.m)
}
