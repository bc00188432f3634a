package asyncdsl

import (
	"errors"
	"math"
	"time"
)

// retryable reports whether a failed attempt may be retried: errors marked
// Permanent and panics are not. (Revocation is handled before this is
// asked: a cancelled assignment abandons the task.)
func retryable(err error) bool {
	if IsPermanent(err) {
		return false
	}
	var p *PanicError
	return !errors.As(err, &p)
}

// backoff is the wait after the n-th failed attempt (n from 1), jittered
// with the executor's random source.
func (e *Executor) backoff(n int) time.Duration {
	e.rng.Lock()
	u := e.rng.r.Float64()
	e.rng.Unlock()
	return backoffDelay(e.cfg.retry, n, u)
}

// backoffDelay is min(MaxBackoff, InitialBackoff * Multiplier^(n-1)),
// scaled by 1 + Jitter*(2u-1) for u in [0, 1): the result lies within
// ±Jitter of the capped delay.
func backoffDelay(r Retry, n int, u float64) time.Duration {
	d := float64(r.InitialBackoff) * math.Pow(r.Multiplier, float64(n-1))
	if d > float64(r.MaxBackoff) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(r.MaxBackoff)
	}
	d *= 1 + r.Jitter*(2*u-1)
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}

// sleep waits for d, or until the assignment is revoked or the executor
// closes (both cancel runCtx). It reports whether the full wait elapsed.
func (e *Executor) sleep(a *assignment, d time.Duration) bool {
	if d <= 0 {
		return a.runCtx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-a.runCtx.Done():
		return false
	}
}
