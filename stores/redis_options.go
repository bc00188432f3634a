package stores

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// DefaultRedisAddr is the address Redis stores connect to unless WithAddr or
// WithClient says otherwise.
const DefaultRedisAddr = "127.0.0.1:6379"

// RedisOption configures NewRedis and NewRedisWindow. A nil option is ignored.
type RedisOption interface{ applyRedis(*redisConfig) }

type redisOption func(*redisConfig)

func (f redisOption) applyRedis(c *redisConfig) { f(c) }

type redisConfig struct {
	addr      string
	addrSet   bool
	prefix    string
	client    redis.UniversalClient
	poolSize  int
	clientSet bool
}

// WithAddr is the host:port of the Redis server. Default DefaultRedisAddr.
// It cannot be combined with WithClient.
func WithAddr(addr string) RedisOption {
	return redisOption(func(c *redisConfig) { c.addr, c.addrSet = addr, true })
}

// WithKeyPrefix is prepended to every key and id, so that several stores can
// share one server (or one database). Default: none. Give each store its own
// prefix: a KeyValue and a Window with the same prefix would see each other's
// entries.
func WithKeyPrefix(prefix string) RedisOption {
	return redisOption(func(c *redisConfig) { c.prefix = prefix })
}

// WithClient makes the store use an existing client (a single node, a
// cluster, a ring or a sentinel-backed one) instead of creating its own.
// Close then leaves the client open: its owner closes it. For per-call
// deadlines to cut blocking network reads short, create the client with
// ContextTimeoutEnabled set.
func WithClient(client redis.UniversalClient) RedisOption {
	return redisOption(func(c *redisConfig) { c.client, c.clientSet = client, true })
}

// WithPoolSize is the number of connections the store's own client keeps.
// Size it to the number of calls in flight at once (the executor's workers),
// or calls queue for a connection. Default: go-redis's, 10 per CPU. It cannot
// be combined with WithClient.
func WithPoolSize(n int) RedisOption {
	return redisOption(func(c *redisConfig) { c.poolSize = n })
}

// redisConn is a client and a key prefix, shared by the Redis backends.
type redisConn struct {
	client redis.UniversalClient
	prefix string
	owned  bool // created here, closed by close
}

func newRedisConn(opts []RedisOption) (*redisConn, error) {
	cfg := redisConfig{addr: DefaultRedisAddr}
	for _, o := range opts {
		if o != nil {
			o.applyRedis(&cfg)
		}
	}
	var p problems
	switch {
	case cfg.clientSet && cfg.client == nil:
		p.addf("WithClient: nil client")
	case cfg.clientSet && cfg.addrSet:
		p.addf("WithAddr and WithClient cannot be combined")
	case cfg.clientSet && cfg.poolSize != 0:
		p.addf("WithPoolSize and WithClient cannot be combined")
	}
	if !cfg.clientSet && cfg.addr == "" {
		p.addf("WithAddr: empty address")
	}
	if cfg.poolSize < 0 {
		p.addf("WithPoolSize: %d is negative", cfg.poolSize)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if cfg.clientSet {
		return &redisConn{client: cfg.client, prefix: cfg.prefix}, nil
	}
	client := redis.NewClient(&redis.Options{
		Addr:     cfg.addr,
		PoolSize: cfg.poolSize,
		// Per-call contexts bound network waits too, not only the wait for
		// a connection.
		ContextTimeoutEnabled: true,
		// The store issues plain commands; no push notifications needed.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	return &redisConn{client: client, prefix: cfg.prefix, owned: true}, nil
}

func (c *redisConn) key(k string) string { return c.prefix + k }

// wrap turns a go-redis error into an *OpError. If ctx ended, the error wraps
// ctx's error as well, whatever go-redis reported (a network deadline, for
// instance).
func (c *redisConn) wrap(ctx context.Context, op, key string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	if errors.Is(err, redis.ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return &OpError{Store: "redis", Op: op, Key: key, Err: err}
}

func (c *redisConn) ping(ctx context.Context) error {
	if err := c.client.Ping(ctx).Err(); err != nil {
		return c.wrap(ctx, "ping", "", err)
	}
	return nil
}

func (c *redisConn) close() error {
	if !c.owned {
		return nil
	}
	if err := c.client.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("stores: closing redis client: %w", err)
	}
	return nil
}
