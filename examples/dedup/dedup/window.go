package dedup

import (
	"context"
	"fmt"
	"time"

	"github.com/riffle-streams/riffle/stores"
)

// Defaults of the app.
const (
	// DefaultDupRate is the fraction of events that repeat a recent id.
	DefaultDupRate = 0.2
	// DefaultWindow is the dedup window. It must cover a run: an event is
	// compared with the ids seen within the window of its record
	// timestamp, and the input is produced before a run starts.
	DefaultWindow = 10 * time.Minute
	// DefaultRecentIDs is how far back a duplicate reaches: one of the last
	// DefaultRecentIDs new ids.
	DefaultRecentIDs = 1000
)

// WindowConfig says which window store the callback asks, and how remote
// it is.
type WindowConfig struct {
	// Window is the dedup window: an id is a duplicate if it was seen
	// within this long before the event. Required.
	Window time.Duration
	// Redis, if set, is the host:port of a Redis server that keeps the
	// window (a stores.RedisWindow); empty keeps it in memory (a
	// stores.MemoryWindow).
	Redis string
	// KeyPrefix prefixes the window's keys in Redis, so that runs sharing a
	// server do not see each other's ids.
	KeyPrefix string
	// PoolSize is the Redis client's connection count (0: the client's
	// default). Give it as many as callbacks run at once.
	PoolSize int
	// Latency is added to every call of the store, and a duration drawn
	// uniformly from [0, Jitter) on top, reproducibly from Seed.
	Latency, Jitter time.Duration
	Seed            uint64
}

// OpenWindow opens the window store of cfg, behind an injector of its
// latency, and returns it with the function that closes it. A Redis window
// is pinged first, within ctx, so that an unreachable server fails here and
// not in the first callback.
func OpenWindow(ctx context.Context, cfg WindowConfig) (stores.Window, func() error, error) {
	var (
		win     stores.Window
		closeFn = func() error { return nil }
	)
	if cfg.Redis != "" {
		opts := []stores.RedisOption{stores.WithAddr(cfg.Redis), stores.WithKeyPrefix(cfg.KeyPrefix)}
		if cfg.PoolSize > 0 {
			opts = append(opts, stores.WithPoolSize(cfg.PoolSize))
		}
		rw, err := stores.NewRedisWindow(cfg.Window, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("dedup: redis window: %w", err)
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = rw.Ping(ctx)
		cancel()
		if err != nil {
			_ = rw.Close()
			return nil, nil, fmt.Errorf("dedup: redis at %s: %w", cfg.Redis, err)
		}
		win, closeFn = rw, rw.Close
	} else {
		mw, err := stores.NewMemoryWindow(cfg.Window)
		if err != nil {
			return nil, nil, fmt.Errorf("dedup: memory window: %w", err)
		}
		win = mw
	}
	in, err := stores.NewInjector(stores.Faults{Latency: cfg.Latency, Jitter: cfg.Jitter, Seed: cfg.Seed})
	if err != nil {
		_ = closeFn()
		return nil, nil, fmt.Errorf("dedup: injector: %w", err)
	}
	return stores.InjectWindow(win, in), closeFn, nil
}
