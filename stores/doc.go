// Package stores holds the state stores that riffle's async code uses
// through a context.Context: typed key-value stores, a time window for
// deduplication, and a latency and fault injector for tests and benchmarks.
//
// # What is here
//
//   - KeyValue[V]: Get, Put and Delete, each taking the caller's ctx, with a
//     codec.Codec[V] (package codec: JSON, String, Int64, Bytes) where values
//     become bytes.
//     Backends: Memory (in-process), Redis (a real remote store, through
//     go-redis), and GokaTable (goka's group table, from inside a goka
//     callback, for the record's own key; GokaLookup reads a goka lookup
//     table).
//   - Window: SeenOrAdd answers "has this id been seen within the last W?"
//     and records it, atomically. Backends: MemoryWindow (lazy expiry on an
//     injectable Clock, no goroutine) and RedisWindow (SET NX PX).
//   - Injector: wraps any KeyValue (InjectKeyValue) or Window (InjectWindow)
//     with fixed latency, jitter, a rate of transient errors and a rate of
//     calls that hang until their context ends, reproducibly from a seed.
//   - The module's own tests run Redis and RedisWindow against a real
//     redis-server, started by internal/redistest.
//
// # Neighbours
//
// Package asyncdsl runs the code that calls these stores: one record per key
// at a time, records of different keys concurrently. Package gokaadapter
// runs goka callbacks on it and gives each one a goka.Context, which
// FromGokaContext turns into a KeyValue over the group table. The dedup
// example (examples/dedup) and the latency sweep benchmark use a Window
// behind an Injector as their remote store.
//
// # What async code sees
//
// The executor runs the records of one key one at a time, in order, and
// applies a record's effects before the key's next record starts. On that
// basis:
//
// A key sees its own earlier writes, in order. The n-th record of a key
// reads what the (n-1)-th wrote, whatever the backend:
//
//   - Memory and Redis take direct writes: a Put is visible to every reader
//     as soon as it returns. A Put made by a record's attempt is therefore
//     seen by the key's next record.
//   - GokaTable writes through goka's context. Inside an async callback the
//     adapter buffers the write and applies it, in key order, after the
//     callback succeeded and before the key's next record starts; the
//     callback itself sees its own Put. GokaTable reaches only the record's
//     own key (other keys fail with ErrOtherKey): that is all goka's table
//     offers a callback.
//
// Direct writes are not part of the record's transaction. A retried
// attempt runs its Puts again, a record abandoned on revocation may already
// have written, and after a crash or rebalance a record is processed again
// (at least once, as goka). A Put whose context ended may or may not have
// reached the server. Make direct writes idempotent (a value computed from
// the input, or a SeenOrAdd guard), or do them in the task's Apply, which
// the executor runs once per successful record and never after revocation.
//
// A read of another key sees some committed value of that key, and nothing
// more can be assumed. Records of different keys are not ordered: when key
// A's record reads key B, B's records that come before it in the partition
// may not have run yet, later ones may already have, and one may be in
// flight (its direct writes visible, its Apply not yet run). Memory and a
// single Redis server are linearizable, so successive reads of B by one key
// never go back in time. Cross-key state that must be consistent with the
// stream belongs to one key (repartition by it) or to the Window's atomic
// SeenOrAdd.
//
// # Errors
//
// Errors are *OpError (a failed call, wrapping its cause and, when the
// call's context ended, the context's error), *codec.Error, *KeyScopeError
// (ErrOtherKey), *TypeError, *TransientError (ErrTransient, from the
// injector) and *ConfigError (from constructors), plus the sentinels
// ErrReadOnly and ErrClosed. Match them with errors.Is and errors.As.
package stores
