package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
)

// authProbeTimeout bounds the probe that tells an authentication failure
// from other failures of a sarama client builder.
const authProbeTimeout = 10 * time.Second

// authGuard makes one franz-go client's refused SASL credentials fail at
// once, with ErrAuthenticationFailed, instead of being retried until the
// request times out.
//
// A broker that rejects credentials either answers the SASLAuthenticate
// request with SASL_AUTHENTICATION_FAILED, which franz-go does not retry, or
// closes the connection in the middle of the exchange, which franz-go takes
// for a network error and retries (for PLAIN, for the whole 30 s retry
// timeout). The guard is a kgo hook that sees the read of a SASLAuthenticate
// response fail, and a wrapper of the client's mechanism: once an exchange
// was cut off and none ever completed, every later exchange fails at once
// with ErrAuthenticationFailed, which franz-go does not retry either.
//
// A client that authenticated once has credentials the broker accepted:
// from then on, a cut-off exchange is a network failure (a broker restart)
// and is retried as franz-go does.
//
// The hook runs on the client's connection goroutines, the mechanism on
// those that open connections: the state is under mu.
type authGuard struct {
	mechanism string

	mu struct {
		sync.Mutex
		authenticated bool // an exchange completed
		cutOff        bool // an exchange was cut off before any completed
	}
}

var _ kgo.HookBrokerRead = (*authGuard)(nil)

// OnBrokerRead marks a failed read of a SASLAuthenticate response.
func (g *authGuard) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key != int16(kmsg.SASLAuthenticate) || err == nil {
		return
	}
	g.mu.Lock()
	if !g.mu.authenticated {
		g.mu.cutOff = true
	}
	g.mu.Unlock()
}

// refused returns the error of credentials the broker refused, or nil.
func (g *authGuard) refused() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mu.cutOff && !g.mu.authenticated {
		return fmt.Errorf("%w: the broker closed the connection during the %s exchange", ErrAuthenticationFailed, g.mechanism)
	}
	return nil
}

func (g *authGuard) succeeded() {
	g.mu.Lock()
	g.mu.authenticated = true
	g.mu.Unlock()
}

// guard wraps m so that its exchanges report to g.
func (g *authGuard) guard(m sasl.Mechanism) sasl.Mechanism { return guardedMechanism{m, g} }

type guardedMechanism struct {
	sasl.Mechanism
	g *authGuard
}

func (m guardedMechanism) Authenticate(ctx context.Context, host string) (sasl.Session, []byte, error) {
	if err := m.g.refused(); err != nil {
		return nil, nil, err
	}
	s, first, err := m.Mechanism.Authenticate(ctx, host)
	if err != nil {
		return nil, nil, err
	}
	return guardedSession{s, m.g}, first, nil
}

type guardedSession struct {
	sasl.Session
	g *authGuard
}

// Challenge is called with each server response that carried no error; the
// exchange is complete when it returns done.
func (s guardedSession) Challenge(resp []byte) (bool, []byte, error) {
	done, out, err := s.Session.Challenge(resp)
	if done && err == nil {
		s.g.succeeded()
	}
	return done, out, err
}

// authError returns err wrapped with ErrAuthenticationFailed if it says the
// cluster refused the credentials (the guard may be nil), else err.
func authError(err error, g *authGuard) error {
	switch {
	case err == nil, errors.Is(err, ErrAuthenticationFailed):
		return err
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, sarama.ErrSASLAuthenticationFailed):
		return fmt.Errorf("%w: %w", ErrAuthenticationFailed, err)
	}
	if g != nil {
		if refused := g.refused(); refused != nil {
			return fmt.Errorf("%w (%w)", refused, err)
		}
	}
	return err
}

// checkAuth returns an error wrapping ErrAuthenticationFailed if the cluster
// refuses the credentials of cl, whose SASL mechanism g guards (nil: no
// SASL, nothing to check). Other failures are left to the client's own
// retries: nil.
func checkAuth(cl *kgo.Client, g *authGuard) error {
	if g == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), authProbeTimeout)
	defer cancel()
	if err := authError(cl.Ping(ctx), g); errors.Is(err, ErrAuthenticationFailed) {
		return err
	}
	return nil
}

// saramaAuthError returns the error of a sarama client builder, err, wrapped
// with ErrAuthenticationFailed if the cluster refuses s's credentials.
// sarama reports a broker that closes the connection during the exchange as
// "client has run out of available brokers to talk to: EOF", the same as a
// broker that went away; a franz-go client with the same credentials tells
// them apart. The probe runs only on the error path, and only with SASL on.
func (s Settings) saramaAuthError(err error) error {
	if err == nil {
		return nil
	}
	if mapped := authError(err, nil); mapped != err {
		return mapped
	}
	cfg := s.SaramaConfig()
	if !cfg.Net.SASL.Enable {
		return err
	}
	opts, g, serr := kgoSecurity(cfg)
	if serr != nil || g == nil {
		return err
	}
	cl, cerr := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.Brokers...)}, opts...)...)
	if cerr != nil {
		return err
	}
	defer cl.Close()
	if perr := checkAuth(cl, g); perr != nil {
		return fmt.Errorf("%w (%w)", perr, err)
	}
	return err
}
