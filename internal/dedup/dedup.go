package dedup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/internal/workload"
	"github.com/riffle-streams/riffle/stores"
)

// Defaults of Config.
const (
	DefaultDupRate       = 0.2
	DefaultWindow        = 10 * time.Minute
	DefaultRecentIDs     = 1000
	DefaultRedisPoolSize = 256
)

// Config describes the dedup workload of one run.
type Config struct {
	// Records is the number of input events. Required.
	Records int
	// DupRate is the fraction of events (0 to 1) that repeat an earlier
	// id. 0 is taken as DefaultDupRate; use NoDuplicates for none.
	DupRate float64
	// NoDuplicates makes every id new (DupRate is ignored).
	NoDuplicates bool
	// RecentIDs is how far back a duplicate reaches: one of the last
	// RecentIDs new ids. Default DefaultRecentIDs.
	RecentIDs int
	// Window is the dedup window W. Default DefaultWindow. It must cover
	// the run: an event is compared with the ids seen within W of its
	// record timestamp, and the input is produced before the run starts.
	Window time.Duration
	// Jitter is added to the injected latency, uniformly in [0, Jitter).
	Jitter time.Duration
	// Seed makes the ids and the injected jitter reproducible.
	Seed uint64
	// Redis, if set, is the host:port of a Redis server: the window is a
	// stores.RedisWindow there, with a key prefix of the run's own, instead
	// of an in-memory window.
	Redis string
	// RedisPoolSize is the Redis client's connection count. Default
	// DefaultRedisPoolSize (the executor's default workers).
	RedisPoolSize int
}

// Workload is the dedup workload of one run (use a new one per run). Task
// hands it to workload.Run; Dropped and Verdict tell what it did.
type Workload struct {
	cfg    Config
	events *Events

	dropped, emitted atomic.Int64

	mu struct {
		sync.Mutex
		closers []func() error
		verdict Verdict
		checked bool
	}
}

// New validates cfg, fills in its defaults and draws the events.
func New(cfg Config) (*Workload, error) {
	if cfg.DupRate == 0 && !cfg.NoDuplicates {
		cfg.DupRate = DefaultDupRate
	}
	if cfg.NoDuplicates {
		cfg.DupRate = 0
	}
	if cfg.RecentIDs == 0 {
		cfg.RecentIDs = DefaultRecentIDs
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.RedisPoolSize == 0 {
		cfg.RedisPoolSize = DefaultRedisPoolSize
	}
	var problems []error
	if cfg.Records <= 0 {
		problems = append(problems, fmt.Errorf("records must be positive, got %d", cfg.Records))
	}
	if !(cfg.DupRate >= 0 && cfg.DupRate < 1) {
		problems = append(problems, fmt.Errorf("dup rate must be within [0, 1), got %v", cfg.DupRate))
	}
	if cfg.RecentIDs < 0 || cfg.Window < 0 || cfg.Jitter < 0 || cfg.RedisPoolSize < 0 {
		problems = append(problems, errors.New("recent ids, window, jitter and redis pool size must not be negative"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("dedup: invalid config: %w", errors.Join(problems...))
	}
	return &Workload{cfg: cfg, events: NewEvents(cfg.Records, cfg.DupRate, cfg.RecentIDs, cfg.Seed)}, nil
}

// Config is the config with its defaults filled in.
func (w *Workload) Config() Config { return w.cfg }

// Events are the run's input.
func (w *Workload) Events() *Events { return w.events }

// Dropped is the number of records the callback has dropped as duplicates
// so far (counted per call, live; the verdict is what counts).
func (w *Workload) Dropped() int64 { return w.dropped.Load() }

// Emitted is the number of records the callback has emitted so far.
func (w *Workload) Emitted() int64 { return w.emitted.Load() }

// Verdict is the result of the check after the run, and whether there was
// one (workload.Run calls it only after a successful run).
func (w *Workload) Verdict() (Verdict, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.verdict, w.mu.checked
}

// Err is nil if the run was checked and its verdict is OK, else an error
// wrapping ErrVerdict.
func (w *Workload) Err() error {
	v, ok := w.Verdict()
	switch {
	case !ok:
		return fmt.Errorf("%w: the output was not checked", ErrVerdict)
	case !v.OK():
		return fmt.Errorf("%w: %s", ErrVerdict, v)
	}
	return nil
}

// Close closes the stores the run opened (the Redis client).
func (w *Workload) Close() error {
	w.mu.Lock()
	closers := w.mu.closers
	w.mu.closers = nil
	w.mu.Unlock()
	var errs []error
	for _, c := range closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Task is the workload.Task of the run: pass it as workload.Config.Task,
// with Config.Records equal to the workload's.
func (w *Workload) Task() *workload.Task {
	return &workload.Task{
		Record: func(i int) ([]byte, []byte) {
			id := []byte(w.events.ID(i))
			return id, id
		},
		Outputs:  w.events.Unique(),
		Callback: w.callback,
		Check: func(ctx context.Context, r workload.RunInfo) error {
			v, err := verify(ctx, r.Settings, string(r.Output), w.events)
			if err != nil {
				return err
			}
			w.mu.Lock()
			w.mu.verdict, w.mu.checked = v, true
			w.mu.Unlock()
			return nil
		},
	}
}

// window opens the run's window store, behind an injector of r.Latency.
func (w *Workload) window(r workload.RunInfo) (stores.Window, error) {
	var win stores.Window
	if w.cfg.Redis != "" {
		rw, err := stores.NewRedisWindow(w.cfg.Window,
			stores.WithAddr(w.cfg.Redis),
			stores.WithKeyPrefix("riffle-dedup:"+r.Name+":"),
			stores.WithPoolSize(w.cfg.RedisPoolSize))
		if err != nil {
			return nil, fmt.Errorf("dedup: redis window: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = rw.Ping(ctx)
		cancel()
		if err != nil {
			_ = rw.Close()
			return nil, fmt.Errorf("dedup: redis at %s: %w", w.cfg.Redis, err)
		}
		w.mu.Lock()
		w.mu.closers = append(w.mu.closers, rw.Close)
		w.mu.Unlock()
		win = rw
	} else {
		mw, err := stores.NewMemoryWindow(w.cfg.Window)
		if err != nil {
			return nil, fmt.Errorf("dedup: memory window: %w", err)
		}
		win = mw
	}
	in, err := stores.NewInjector(stores.Faults{Latency: r.Latency, Jitter: w.cfg.Jitter, Seed: w.cfg.Seed})
	if err != nil {
		return nil, fmt.Errorf("dedup: injector: %w", err)
	}
	return stores.InjectWindow(win, in), nil
}

// callback builds the run's goka callback: emit the record if its id
// (the key) was not seen within the window, else drop it. The same
// function runs sync and async.
func (w *Workload) callback(r workload.RunInfo) (goka.ProcessCallback, error) {
	win, err := w.window(r)
	if err != nil {
		return nil, err
	}
	output := r.Output
	return func(ctx goka.Context, msg any) {
		seen, err := win.SeenOrAdd(ctx.Context(), ctx.Key(), ctx.Timestamp())
		if err != nil {
			if ctx.Context().Err() != nil {
				// Revoked or shutting down: leave the record unprocessed.
				return
			}
			ctx.Fail(err)
		}
		if seen {
			w.dropped.Add(1)
			return
		}
		w.emitted.Add(1)
		ctx.Emit(output, ctx.Key(), msg)
	}, nil
}
