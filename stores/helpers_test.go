package stores_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/internal/redistest"
	"github.com/riffle-streams/riffle/stores"
)

// order is a value with fields, for the JSON codec.
type order struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

// fakeClock is a Clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newRedisKV starts a server for t and returns a store on it.
func newRedisKV[V any](t *testing.T, c codec.Codec[V], opts ...stores.RedisOption) (*stores.Redis[V], *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	kv, err := stores.NewRedis(c, append([]stores.RedisOption{stores.WithAddr(srv.Addr)}, opts...)...)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() {
		if err := kv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return kv, srv
}

// rawClient is a plain client, to look at what the stores wrote.
func rawClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testCtx is a context bounded by the test's deadline (or a minute).
func testCtx(t *testing.T) context.Context {
	t.Helper()
	d := time.Minute
	if dl, ok := t.Deadline(); ok {
		d = time.Until(dl) - time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func redistestStart(t *testing.T) *redistest.Server { return redistest.Start(t) }
