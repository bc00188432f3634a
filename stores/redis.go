package stores

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
	"github.com/riffle-streams/riffle/codec"
)

// Redis is a KeyValue kept in Redis, one Redis string per key, holding the
// value encoded by the store's codec. Writes go straight to the server: a
// Put is visible to every reader as soon as it returns.
//
// A Redis store is safe for concurrent use. Each call honours its context:
// a call whose context is done fails at once, and a call waiting for the
// server gives up when its context ends, with an error wrapping the
// context's.
type Redis[V any] struct {
	conn  *redisConn
	codec codec.Codec[V]
}

var _ KeyValue[int] = (*Redis[int])(nil)

// NewRedis returns a KeyValue kept in Redis. It does not contact the server:
// use Ping to check it is reachable. Close releases the client it created.
func NewRedis[V any](c codec.Codec[V], opts ...RedisOption) (*Redis[V], error) {
	if c == nil {
		return nil, &ConfigError{Package: "stores", Problems: []string{"NewRedis: nil codec"}}
	}
	conn, err := newRedisConn(opts)
	if err != nil {
		return nil, err
	}
	return &Redis[V]{conn: conn, codec: c}, nil
}

// Get returns the decoded value of key.
func (s *Redis[V]) Get(ctx context.Context, key string) (V, bool, error) {
	var zero V
	data, err := s.conn.client.Get(ctx, s.conn.key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, s.conn.wrap(ctx, "get", key, err)
	}
	v, err := s.codec.Decode(data)
	if err != nil {
		return zero, false, &OpError{Store: "redis", Op: "get", Key: key, Err: err}
	}
	return v, true, nil
}

// Put encodes v and sets key to it, without expiry.
func (s *Redis[V]) Put(ctx context.Context, key string, v V) error {
	data, err := s.codec.Encode(v)
	if err != nil {
		return &OpError{Store: "redis", Op: "put", Key: key, Err: err}
	}
	if err := s.conn.client.Set(ctx, s.conn.key(key), data, 0).Err(); err != nil {
		return s.conn.wrap(ctx, "put", key, err)
	}
	return nil
}

// Delete removes key.
func (s *Redis[V]) Delete(ctx context.Context, key string) error {
	if err := s.conn.client.Del(ctx, s.conn.key(key)).Err(); err != nil {
		return s.conn.wrap(ctx, "delete", key, err)
	}
	return nil
}

// Ping checks that the server answers.
func (s *Redis[V]) Ping(ctx context.Context) error { return s.conn.ping(ctx) }

// Close closes the client the store created. A client passed with
// WithClient stays open. Calls after Close fail with ErrClosed (for a client
// the store created).
func (s *Redis[V]) Close() error { return s.conn.close() }
