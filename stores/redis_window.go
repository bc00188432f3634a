package stores

import (
	"context"
	"strconv"
	"time"
)

// RedisWindow is a Window kept in Redis: one key per id, set with SET NX PX
// (SetNX with an expiry), so that the server decides atomically which caller
// saw the id first, and expires it by itself.
//
// The expiry is at+W minus the caller's clock, so the caller's and the
// server's clocks should agree to well within W. Redis expires keys with
// millisecond precision.
type RedisWindow struct {
	conn *redisConn
	w    time.Duration
}

var _ Window = (*RedisWindow)(nil)

// NewRedisWindow returns a window of length w kept in Redis. It does not
// contact the server: use Ping to check it is reachable. Close releases the
// client it created.
func NewRedisWindow(w time.Duration, opts ...RedisOption) (*RedisWindow, error) {
	if w < time.Millisecond {
		return nil, &ConfigError{Package: "stores", Problems: []string{"window length " + w.String() + " is less than Redis's 1ms resolution"}}
	}
	conn, err := newRedisConn(opts)
	if err != nil {
		return nil, err
	}
	return &RedisWindow{conn: conn, w: w}, nil
}

// SeenOrAdd reports whether id is in the window, and adds it at at if not.
// The key's value is at in Unix milliseconds, for inspection.
func (rw *RedisWindow) SeenOrAdd(ctx context.Context, id string, at time.Time) (bool, error) {
	key := rw.conn.key(id)
	ttl := time.Until(at.Add(rw.w)).Truncate(time.Millisecond)
	if ttl < time.Millisecond {
		// Outside the window already: not added, but an entry added by a
		// later sighting still counts.
		n, err := rw.conn.client.Exists(ctx, key).Result()
		if err != nil {
			return false, rw.conn.wrap(ctx, "seen-or-add", id, err)
		}
		return n > 0, nil
	}
	added, err := rw.conn.client.SetNX(ctx, key, strconv.FormatInt(at.UnixMilli(), 10), ttl).Result()
	if err != nil {
		return false, rw.conn.wrap(ctx, "seen-or-add", id, err)
	}
	return !added, nil
}

// Ping checks that the server answers.
func (rw *RedisWindow) Ping(ctx context.Context) error { return rw.conn.ping(ctx) }

// Close closes the client the window created. A client passed with
// WithClient stays open.
func (rw *RedisWindow) Close() error { return rw.conn.close() }
