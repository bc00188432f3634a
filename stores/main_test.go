package stores_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/riffle-streams/riffle/internal/redistest"
	"go.uber.org/goleak"
)

// redisAddr is the address of the redis-server that TestMain starts on
// 127.0.0.1 for ExampleNewRedis (tests that need Redis start their own).
var redisAddr string

// TestMain runs the package's tests and examples with a redis-server for
// ExampleNewRedis, then checks for leaked goroutines. With
// RIFFLE_SKIP_REDIS=1 it starts none and skips that example, as the Redis
// tests skip themselves.
func TestMain(m *testing.M) {
	flag.Parse()
	stop, err := startExampleRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stores: redis-server for ExampleNewRedis:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stores: stopping redis-server:", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// startExampleRedis starts the example's redis-server and sets redisAddr,
// or, with RIFFLE_SKIP_REDIS=1, adds the example to -test.skip.
func startExampleRedis() (stop func() error, err error) {
	if os.Getenv(redistest.SkipEnv) == "1" {
		skip := "^ExampleNewRedis$"
		if prev := flag.Lookup("test.skip").Value.String(); prev != "" {
			skip = prev + "|" + skip
		}
		return func() error { return nil }, flag.Set("test.skip", skip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), redistest.InstallTimeout)
	defer cancel()
	s, err := redistest.StartServer(ctx)
	if err != nil {
		return nil, err
	}
	redisAddr = s.Addr
	return s.Close, nil
}
