package gokaadapter

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestTransientGroupError(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"join held past the read timeout", timeout, true},
		{"connection dropped", io.EOF, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"out of brokers after refused connections", sarama.Wrap(sarama.ErrOutOfBrokers, syscall.ECONNREFUSED), true},
		{"coordinator not available", sarama.ErrConsumerCoordinatorNotAvailable, true},
		{"rebalance in progress, retries spent", sarama.ErrRebalanceInProgress, true},
		{"wrapped", fmt.Errorf("consume: %w", sarama.ErrNotCoordinatorForConsumer), true},
		{"group authorization", sarama.ErrGroupAuthorizationFailed, false},
		{"topic authorization", sarama.ErrTopicAuthorizationFailed, false},
		{"out of brokers after a failed authentication", sarama.Wrap(sarama.ErrOutOfBrokers, sarama.ErrSASLAuthenticationFailed), false},
		{"invalid session timeout", sarama.ErrInvalidSessionTimeout, false},
		{"unknown certificate authority", fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), false},
		{"closed group", sarama.ErrClosedConsumerGroup, false},
		{"cancelled", context.Canceled, false},
		{"deadline of a context (it is a net.Error timeout too)", context.DeadlineExceeded, false},
		{"unknown", errors.New("no topics provided"), false},
	} {
		if got := transientGroupError(tc.err); got != tc.want {
			t.Errorf("%s (%v): transient = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestRejoinBackoff(t *testing.T) {
	p := Rejoin{InitialBackoff: time.Second, MaxBackoff: 5 * time.Second}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 40: 5 * time.Second} {
		if got := rejoinBackoff(p, n); got != want {
			t.Errorf("backoff after failure %d: %v, want %v", n, got, want)
		}
	}
}

func TestRejoinOptionsValidated(t *testing.T) {
	for _, r := range []Rejoin{{MaxAttempts: -1}, {InitialBackoff: -time.Second}, {InitialBackoff: time.Minute, MaxBackoff: time.Second}} {
		a, err := New(WithRejoin(r))
		var ce *ConfigError
		if !errors.As(err, &ce) {
			if a != nil {
				_ = a.Close()
			}
			t.Errorf("WithRejoin(%+v): %v, want a *ConfigError", r, err)
		}
	}
	a, err := New(WithRejoin(Rejoin{MaxAttempts: 3}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if want := (Rejoin{MaxAttempts: 3, InitialBackoff: defaultRejoin.InitialBackoff, MaxBackoff: defaultRejoin.MaxBackoff}); a.rejoin.policy != want {
		t.Errorf("policy %+v, want %+v (zero fields keep their defaults)", a.rejoin.policy, want)
	}
}
