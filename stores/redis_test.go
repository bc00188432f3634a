package stores_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/stores"
)

// Each call honours its own deadline, even while the server does not answer
// (CLIENT PAUSE holds every client's commands).
func TestRedisPerCallDeadline(t *testing.T) {
	kv, srv := newRedisKV(t, codec.Int64())
	rw, err := stores.NewRedisWindow(time.Hour, stores.WithAddr(srv.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	ctx := testCtx(t)
	// Connect first, so that the calls below wait for the server, not for a
	// dial.
	if err := kv.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rw.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	const pause = 3 * time.Second
	if err := rawClient(t, srv).ClientPause(ctx, pause).Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	calls := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, _, err := kv.Get(ctx, "k"); return err }},
		{"put", func(ctx context.Context) error { return kv.Put(ctx, "k", 1) }},
		{"delete", func(ctx context.Context) error { return kv.Delete(ctx, "k") }},
		{"seen-or-add", func(ctx context.Context) error { _, err := rw.SeenOrAdd(ctx, "id", time.Now()); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			callCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := c.run(callCtx)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v, want context.DeadlineExceeded", err)
			}
			var oe *stores.OpError
			if !errors.As(err, &oe) || oe.Store != "redis" || oe.Op != c.name {
				t.Fatalf("error %#v, want a redis *OpError for %s", err, c.name)
			}
			if took := time.Since(start); took > pause/2 {
				t.Fatalf("call took %v: it waited for the server, not for its deadline", took)
			}
		})
	}
}

// The key prefix separates stores sharing a server; keys hold the codec's
// bytes.
func TestRedisKeyPrefix(t *testing.T) {
	a, srv := newRedisKV(t, codec.JSON[order](), stores.WithKeyPrefix("a:"))
	b, err := stores.NewRedis(codec.JSON[order](), stores.WithAddr(srv.Addr), stores.WithKeyPrefix("b:"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := testCtx(t)
	if err := a.Put(ctx, "o1", order{ID: "o1", Amount: 5}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := b.Get(ctx, "o1"); err != nil || found {
		t.Fatalf("b sees a's key: found=%t err=%v", found, err)
	}
	raw, err := rawClient(t, srv).Get(ctx, "a:o1").Result()
	if err != nil || raw != `{"id":"o1","amount":5}` {
		t.Fatalf("raw a:o1 = %q, %v", raw, err)
	}
}

// A value the codec cannot read is an error, not absence.
func TestRedisUndecodable(t *testing.T) {
	kv, srv := newRedisKV(t, codec.Int64())
	ctx := testCtx(t)
	if err := rawClient(t, srv).Set(ctx, "k", "not a number", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var ce *codec.Error
	if _, _, err := kv.Get(ctx, "k"); !errors.As(err, &ce) {
		t.Fatalf("Get: %v, want a *codec.Error", err)
	}
}

// Close closes only a client the store created.
func TestRedisClose(t *testing.T) {
	kv, srv := newRedisKV(t, codec.Int64())
	ctx := testCtx(t)
	if err := kv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := kv.Put(ctx, "k", 1); !errors.Is(err, stores.ErrClosed) {
		t.Fatalf("Put after Close: %v, want ErrClosed", err)
	}

	shared := rawClient(t, srv)
	kv2, err := stores.NewRedis(codec.Int64(), stores.WithClient(shared))
	if err != nil {
		t.Fatal(err)
	}
	rw, err := stores.NewRedisWindow(time.Minute, stores.WithClient(shared))
	if err != nil {
		t.Fatal(err)
	}
	if err := kv2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := shared.Ping(ctx).Err(); err != nil {
		t.Fatalf("shared client closed by a store: %v", err)
	}
}

func TestRedisConfig(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	tests := []struct {
		name string
		opts []stores.RedisOption
	}{
		{"empty address", []stores.RedisOption{stores.WithAddr("")}},
		{"nil client", []stores.RedisOption{stores.WithClient(nil)}},
		{"address and client", []stores.RedisOption{stores.WithAddr("127.0.0.1:1"), stores.WithClient(client)}},
		{"pool size and client", []stores.RedisOption{stores.WithPoolSize(4), stores.WithClient(client)}},
		{"negative pool size", []stores.RedisOption{stores.WithPoolSize(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ce *stores.ConfigError
			if _, err := stores.NewRedis(codec.Int64(), tt.opts...); !errors.As(err, &ce) {
				t.Errorf("NewRedis: %v, want a *ConfigError", err)
			}
			if _, err := stores.NewRedisWindow(time.Second, tt.opts...); !errors.As(err, &ce) {
				t.Errorf("NewRedisWindow: %v, want a *ConfigError", err)
			}
		})
	}
	var ce *stores.ConfigError
	if _, err := stores.NewRedis[int64](nil); !errors.As(err, &ce) {
		t.Errorf("NewRedis(nil codec): %v, want a *ConfigError", err)
	}
	if _, err := stores.NewRedisWindow(time.Microsecond); !errors.As(err, &ce) {
		t.Errorf("NewRedisWindow(1µs): %v, want a *ConfigError", err)
	}
}
