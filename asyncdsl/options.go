package asyncdsl

import (
	"fmt"
	"time"
)

// Defaults. They suit work dominated by remote calls of a few milliseconds:
// 256 workers and 2 ms calls bound one executor at 128k records/s (workers
// divided by latency), reached when keys are diverse enough to keep the
// workers busy (docs/benchmarks.md has what it reaches).
const (
	DefaultWorkers                = 256
	DefaultMaxQueuedPerKey        = 128
	DefaultMaxPendingPerPartition = 4096
	DefaultMaxPending             = 32768
	DefaultCallTimeout            = 30 * time.Second
	DefaultDrainTimeout           = 3 * time.Second
)

// ErrorPolicy decides what happens to a task whose attempts all failed.
type ErrorPolicy int

const (
	// FailOnError releases the task as Failed, and every later task of its
	// assignment too: the caller stops the processor, as goka does on a
	// callback error. This is the default.
	FailOnError ErrorPolicy = iota
	// SkipOnError releases the task as Skipped: its offset is committed and
	// its effects are dropped.
	SkipOnError
	// DeadLetterOnError calls the task's DeadLetter and releases it as
	// DeadLettered once that write is acknowledged.
	DeadLetterOnError
)

func (p ErrorPolicy) String() string {
	switch p {
	case FailOnError:
		return "fail"
	case SkipOnError:
		return "skip"
	case DeadLetterOnError:
		return "dead-letter"
	default:
		return fmt.Sprintf("ErrorPolicy(%d)", int(p))
	}
}

// Retry configures retries of failed attempts. Attempt n+1 starts after a
// backoff of min(MaxBackoff, InitialBackoff * Multiplier^(n-1)), randomised by
// ±Jitter (a fraction). Errors wrapped with Permanent, panics and revocation
// are never retried.
type Retry struct {
	// MaxAttempts counts the first attempt: 1 means no retry. Default 1.
	MaxAttempts int
	// InitialBackoff is the wait before the second attempt. Default 10ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait. Default 1s.
	MaxBackoff time.Duration
	// Multiplier grows the wait per attempt. Default 2.
	Multiplier float64
	// Jitter is the random fraction (0 to 1) added or removed. Default 0.2.
	Jitter float64
}

// config is the validated configuration of an Executor.
type config struct {
	workers                int
	maxQueuedPerKey        int
	maxPendingPerPartition int
	maxPending             int
	callTimeout            time.Duration
	detachGrace            time.Duration // set by New from callTimeout unless a test set it
	maxStuck               int           // 0: workers
	drainTimeout           time.Duration
	retry                  Retry
	policy                 ErrorPolicy
	hooks                  []Hook
	seed                   int64
}

func defaultConfig() config {
	return config{
		workers:                DefaultWorkers,
		maxQueuedPerKey:        DefaultMaxQueuedPerKey,
		maxPendingPerPartition: DefaultMaxPendingPerPartition,
		maxPending:             DefaultMaxPending,
		callTimeout:            DefaultCallTimeout,
		drainTimeout:           DefaultDrainTimeout,
		retry: Retry{
			MaxAttempts:    1,
			InitialBackoff: 10 * time.Millisecond,
			MaxBackoff:     time.Second,
			Multiplier:     2,
			Jitter:         0.2,
		},
		policy: FailOnError,
	}
}

// Option configures an Executor. A nil option is ignored.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithWorkers sets how many attempts run at once. Default 256. Size it to
// about the target throughput times the remote call latency (Little's law):
// 20k records/s at 5 ms needs 100 workers. Workers are goroutines, so
// thousands are cheap; the real limit is what the remote side accepts.
func WithWorkers(n int) Option { return optionFunc(func(c *config) { c.workers = n }) }

// WithMaxQueuedPerKey bounds the records of one key that are submitted and
// not yet released. Default 128. A hot key blocks its partition's consumer
// when it reaches this bound, which keeps memory bounded under skew.
func WithMaxQueuedPerKey(n int) Option {
	return optionFunc(func(c *config) { c.maxQueuedPerKey = n })
}

// WithMaxPendingPerPartition bounds the records of one partition that are
// submitted and not yet released (queued, running, or finished but held back
// by the watermark). Default 4096. It is also the most a commit can lag behind
// the consumer on that partition.
func WithMaxPendingPerPartition(n int) Option {
	return optionFunc(func(c *config) { c.maxPendingPerPartition = n })
}

// WithMaxPending bounds the records submitted and not yet released across the
// executor. Default 32768.
func WithMaxPending(n int) Option { return optionFunc(func(c *config) { c.maxPending = n }) }

// WithCallTimeout sets the deadline of each attempt's context. Default 30s.
// An attempt that has not returned a grace after its deadline is given up on
// (see WithMaxStuck). Zero means no deadline: an attempt that ignores its
// context then holds its key and partition until a revocation or Close
// gives up on it at the drain deadline.
func WithCallTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.callTimeout = d })
}

// WithMaxStuck bounds how many goroutines may be stuck in user code at once
// before the executor fails partitions instead of leaking more. Default:
// the number of workers.
//
// An attempt that has not returned by its call deadline (plus a grace of a
// tenth of the timeout, within 10 ms and 1 s) is given up on: it fails with
// a *StuckCallError, which is retried and then goes to the error policy like
// any timeout, and its key and partition move on. Go cannot stop the
// goroutine, so it stays, stuck in user code, until the code returns; its
// result is then discarded. Each such goroutine holds its stack and its
// record. When an attempt is given up on while n goroutines are stuck
// already, its task fails, whatever the error policy, with an error that
// wraps ErrTooManyStuck: the processor stops instead of leaking a goroutine
// per record when a dependency hangs for good. Attempts given up on at the
// drain deadline of a revocation or Close are counted, but never fail
// anything: the partition is being given up already.
func WithMaxStuck(n int) Option { return optionFunc(func(c *config) { c.maxStuck = n }) }

// WithDrainTimeout bounds how long a revoked assignment, or Close, waits for
// running attempts and unacknowledged writes before it abandons them.
// Default 3s: revocation cancels running attempts at once, so the drain only
// waits for user code to notice and for writes to be acknowledged. Keep it
// well below goka's 60 s wait for deferred commits and
// below the group's rebalance timeout.
func WithDrainTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.drainTimeout = d })
}

// WithRetry sets the retry policy. Zero fields keep their defaults.
func WithRetry(r Retry) Option {
	return optionFunc(func(c *config) {
		if r.MaxAttempts != 0 {
			c.retry.MaxAttempts = r.MaxAttempts
		}
		if r.InitialBackoff != 0 {
			c.retry.InitialBackoff = r.InitialBackoff
		}
		if r.MaxBackoff != 0 {
			c.retry.MaxBackoff = r.MaxBackoff
		}
		if r.Multiplier != 0 {
			c.retry.Multiplier = r.Multiplier
		}
		if r.Jitter != 0 {
			c.retry.Jitter = r.Jitter
		}
	})
}

// WithErrorPolicy sets what happens once retries are exhausted. Default
// FailOnError.
func WithErrorPolicy(p ErrorPolicy) Option { return optionFunc(func(c *config) { c.policy = p }) }

// WithHook registers an observer of the executor's events (see Hook). Hooks
// are how package tracing attaches spans and metrics.
func WithHook(h Hook) Option { return optionFunc(func(c *config) { c.hooks = append(c.hooks, h) }) }

// WithSeed fixes the seed of the backoff jitter, for reproducible tests.
func WithSeed(seed int64) Option { return optionFunc(func(c *config) { c.seed = seed }) }

func (c *config) validate() error {
	var problems []string
	if c.workers <= 0 {
		problems = append(problems, fmt.Sprintf("workers must be at least 1, got %d", c.workers))
	}
	if c.maxQueuedPerKey <= 0 {
		problems = append(problems, fmt.Sprintf("max queued per key must be at least 1, got %d", c.maxQueuedPerKey))
	}
	if c.maxPendingPerPartition <= 0 {
		problems = append(problems, fmt.Sprintf("max pending per partition must be at least 1, got %d", c.maxPendingPerPartition))
	}
	if c.maxPending <= 0 {
		problems = append(problems, fmt.Sprintf("max pending must be at least 1, got %d", c.maxPending))
	}
	if c.callTimeout < 0 {
		problems = append(problems, fmt.Sprintf("call timeout must not be negative, got %s", c.callTimeout))
	}
	if c.maxStuck < 0 {
		problems = append(problems, fmt.Sprintf("max stuck must not be negative, got %d", c.maxStuck))
	}
	if c.drainTimeout <= 0 {
		problems = append(problems, fmt.Sprintf("drain timeout must be positive, got %s", c.drainTimeout))
	}
	if c.retry.MaxAttempts < 1 {
		problems = append(problems, fmt.Sprintf("retry max attempts must be at least 1, got %d", c.retry.MaxAttempts))
	}
	if c.retry.Multiplier < 1 {
		problems = append(problems, fmt.Sprintf("retry multiplier must be at least 1, got %g", c.retry.Multiplier))
	}
	if c.retry.Jitter < 0 || c.retry.Jitter > 1 {
		problems = append(problems, fmt.Sprintf("retry jitter must be within [0, 1], got %g", c.retry.Jitter))
	}
	if c.retry.InitialBackoff < 0 || c.retry.MaxBackoff < c.retry.InitialBackoff {
		problems = append(problems, fmt.Sprintf("retry backoff must satisfy 0 <= initial (%s) <= max (%s)", c.retry.InitialBackoff, c.retry.MaxBackoff))
	}
	if c.policy < FailOnError || c.policy > DeadLetterOnError {
		problems = append(problems, fmt.Sprintf("unknown error policy %d", int(c.policy)))
	}
	if len(problems) > 0 {
		return &ConfigError{Package: "asyncdsl", Problems: problems}
	}
	return nil
}
