package stores

import "context"

// KeyValue is a typed key-value store.
//
// Every call takes the caller's context first. A call whose context is done
// before it starts fails without effect; a remote backend gives up waiting
// when the context ends (the write may or may not have happened then, as with
// any remote call that times out).
//
// Implementations are safe for concurrent use. See the package documentation
// for what a key sees of its own writes and of other keys' writes when called
// from async code.
type KeyValue[V any] interface {
	// Get returns the value of key, and whether it exists.
	Get(ctx context.Context, key string) (v V, found bool, err error)
	// Put sets the value of key.
	Put(ctx context.Context, key string, v V) error
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}
