package stores_test

import (
	"context"
	"errors"
	"testing"

	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/stores"
)

// kvBackend builds a fresh KeyValue[int64] for one test. key is a key the
// store accepts (GokaTable accepts only its record's key).
type kvBackend struct {
	name string
	key  string
	new  func(t *testing.T) stores.KeyValue[int64]
}

func kvBackends() []kvBackend {
	return []kvBackend{
		{"memory", "k", func(t *testing.T) stores.KeyValue[int64] { return stores.NewMemory[int64]() }},
		{"memory zero value", "k", func(t *testing.T) stores.KeyValue[int64] { return new(stores.Memory[int64]) }},
		{"redis", "k", func(t *testing.T) stores.KeyValue[int64] {
			kv, _ := newRedisKV(t, codec.Int64(), stores.WithKeyPrefix("test:"))
			return kv
		}},
		{"goka table", "k", func(t *testing.T) stores.KeyValue[int64] {
			return stores.FromGokaContext(newFakeGokaContext("k"), codec.Int64())
		}},
		{"goka table, typed codec", "k", func(t *testing.T) stores.KeyValue[int64] {
			gctx := newFakeGokaContext("k")
			gctx.codec = codec.Goka(codec.Int64())
			return stores.FromGokaContext(gctx, codec.Int64())
		}},
		{"injected memory", "k", func(t *testing.T) stores.KeyValue[int64] {
			in, err := stores.NewInjector(stores.Faults{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			return stores.InjectKeyValue[int64](stores.NewMemory[int64](), in)
		}},
	}
}

// The KeyValue contract, on every backend.
func TestKeyValueContract(t *testing.T) {
	for _, b := range kvBackends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			kv := b.new(t)
			mustGet := func(want int64, wantFound bool) {
				t.Helper()
				v, found, err := kv.Get(ctx, b.key)
				if err != nil || v != want || found != wantFound {
					t.Fatalf("Get = %d, %t, %v; want %d, %t, nil", v, found, err, want, wantFound)
				}
			}
			mustGet(0, false)
			if err := kv.Delete(ctx, b.key); err != nil {
				t.Fatalf("Delete of a missing key: %v", err)
			}
			if err := kv.Put(ctx, b.key, 7); err != nil {
				t.Fatalf("Put: %v", err)
			}
			mustGet(7, true)
			if err := kv.Put(ctx, b.key, 0); err != nil {
				t.Fatalf("Put: %v", err)
			}
			mustGet(0, true) // a zero value is a value, not absence
			if err := kv.Delete(ctx, b.key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			mustGet(0, false)

			// A call with a done context fails with its error and leaves
			// the store as it was.
			if err := kv.Put(ctx, b.key, 1); err != nil {
				t.Fatalf("Put: %v", err)
			}
			done, cancel := context.WithCancel(ctx)
			cancel()
			if _, _, err := kv.Get(done, b.key); !errors.Is(err, context.Canceled) {
				t.Errorf("Get with a cancelled context: %v, want context.Canceled", err)
			}
			if err := kv.Put(done, b.key, 2); !errors.Is(err, context.Canceled) {
				t.Errorf("Put with a cancelled context: %v, want context.Canceled", err)
			}
			if err := kv.Delete(done, b.key); !errors.Is(err, context.Canceled) {
				t.Errorf("Delete with a cancelled context: %v, want context.Canceled", err)
			}
			mustGet(1, true)
		})
	}
}
