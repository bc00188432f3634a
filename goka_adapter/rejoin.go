package gokaadapter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// Rejoin is how a processor answers a transient error of its consumer
// group, such as a JoinGroup that timed out or a coordinator that is not
// available: it joins the group again after a backoff, instead of stopping
// with "error consuming from group consumer". Zero fields keep their
// defaults.
//
// Kafka's own clients do the same: a Java consumer (and so Kafka Streams)
// retries its join for as long as it runs. goka returns the error from
// Processor.Run, and a program must restart the processor; after overlapping
// crashes of group members a restarted member's JoinGroup can be held by
// the broker past sarama's read timeout (30 s), and every such member
// failed that way (docs/reliability.md, "Crash loops").
type Rejoin struct {
	// MaxAttempts is how many times in a row the processor joins again
	// after a transient error; when the last of them fails too, Run
	// returns its error, wrapped in a *RejoinError. A join that starts a
	// session resets the count. Default DefaultRejoinAttempts.
	MaxAttempts int
	// InitialBackoff is the wait before the first join after a failure; it
	// doubles at each failure in a row, up to MaxBackoff. Defaults 1 s and
	// 30 s.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// DefaultRejoinAttempts is the default of Rejoin.MaxAttempts. With the
// default backoff and sarama's 30 s read timeout, a group that fails every
// join this many times in a row is given up on after about 9 minutes.
const DefaultRejoinAttempts = 10

// defaultRejoin is the policy of an adapter without WithRejoin.
var defaultRejoin = Rejoin{MaxAttempts: DefaultRejoinAttempts, InitialBackoff: time.Second, MaxBackoff: 30 * time.Second}

// WithRejoin sets how the processor rejoins its group after a transient
// group error. Zero fields keep their defaults; negative ones are a
// configuration error. The default rejoins up to DefaultRejoinAttempts
// times in a row.
//
// A permanent error still stops the processor at once: a failed record
// under the fail policy, an error of a goka callback or of goka's setup of
// a partition, a refused authorization or authentication, a certificate
// that does not verify, a misconfigured group, and any error that is not
// known to be transient.
func WithRejoin(r Rejoin) Option {
	return optionFunc(func(c *config) {
		if r.MaxAttempts != 0 {
			c.rejoin.MaxAttempts = r.MaxAttempts
		}
		if r.InitialBackoff != 0 {
			c.rejoin.InitialBackoff = r.InitialBackoff
		}
		if r.MaxBackoff != 0 {
			c.rejoin.MaxBackoff = r.MaxBackoff
		}
	})
}

// WithoutRejoin makes the processor stop at the first group error, as goka
// does.
func WithoutRejoin() Option { return optionFunc(func(c *config) { c.noRejoin = true }) }

// RejoinConsumerGroupBuilder wraps the consumer group builder of a goka
// processor that no Adapter builds, so that it joins its group again after
// a transient error as an adapter's processor does (see Rejoin). Zero
// fields of r keep their defaults; a nil logger is slog.Default().
// Pass the result to goka.WithConsumerGroupBuilder.
func RejoinConsumerGroupBuilder(base goka.ConsumerGroupBuilder, r Rejoin, logger *slog.Logger) (goka.ConsumerGroupBuilder, error) {
	cfg := config{rejoin: defaultRejoin}
	WithRejoin(r).apply(&cfg)
	if problems := cfg.rejoin.validate(); len(problems) > 0 {
		return nil, &ConfigError{Package: "gokaadapter", Problems: problems}
	}
	if logger == nil {
		logger = slog.Default()
	}
	return (&rejoiner{policy: cfg.rejoin, logger: logger}).wrap(base), nil
}

func (r Rejoin) validate() []string {
	var problems []string
	if r.MaxAttempts < 0 {
		problems = append(problems, "rejoin: MaxAttempts must not be negative")
	}
	if r.InitialBackoff < 0 || r.MaxBackoff < 0 {
		problems = append(problems, "rejoin: backoffs must not be negative")
	}
	if r.MaxBackoff < r.InitialBackoff {
		problems = append(problems, "rejoin: MaxBackoff must not be below InitialBackoff")
	}
	return problems
}

// RejoinStats counts the processor's rejoins (Adapter.RejoinStats).
type RejoinStats struct {
	// Rejoins counts the joins made after a transient group error, over the
	// adapter's life.
	Rejoins int64
	// Failing is the number of joins in a row that failed so far; 0 once a
	// session started.
	Failing int
	// LastError is the last transient group error, nil if none.
	LastError error
}

// rejoiner wraps the processor's consumer group so that a transient error
// of a join leads to another join, within the policy's budget, instead of
// reaching goka's rebalance loop, which would return it from Run.
//
// Why at the consumer group and not by running a new goka processor: goka
// calls Consume in a loop, and between two calls nothing of the processor
// is assigned (the session's Cleanup has returned, and with it every
// deferred commit: the executor released every record), exactly as between
// two sessions of a rebalance. So a Consume that joins again after a
// failed join is a rebalance that took longer, for goka and for the
// adapter: the executor, the emitter, the captured storages and producer,
// the commit gate (reset at the next Setup) and the bound graph stay valid
// as they do across every rebalance, and Processor keeps the goka
// processor that the program holds (WaitForReady, Stats, Get). A goka
// processor cannot Run twice (its done channel is closed for good), so a
// new one would also need a new producer, consumer and views, and every
// method of Processor redirected to it.
//
// Which errors: only those of Consume itself, in a call in which no handler
// method (goka's Setup, Cleanup) failed. A handler error is goka's own
// verdict on a partition (a failed record under the fail policy, a callback
// error, a setup error) and is returned as it is. The rest is classified
// by transientGroupError.
//
// Concurrency: goka calls Consume from one goroutine at a time; the counts
// are read by RejoinStats from any goroutine, so they sit under mu.
type rejoiner struct {
	policy  Rejoin
	logger  *slog.Logger
	rejoins atomic.Int64

	mu struct {
		sync.Mutex
		failing int
		last    error
	}
}

func (r *rejoiner) stats() RejoinStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RejoinStats{Rejoins: r.rejoins.Load(), Failing: r.mu.failing, LastError: r.mu.last}
}

// wrap returns a consumer group builder whose groups rejoin after
// transient errors; a nil r (WithoutRejoin) returns base.
func (r *rejoiner) wrap(base goka.ConsumerGroupBuilder) goka.ConsumerGroupBuilder {
	if r == nil {
		return base
	}
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := base(brokers, group, clientID)
		if err != nil {
			return nil, err
		}
		return &rejoiningGroup{ConsumerGroup: cg, r: r, group: group}, nil
	}
}

type rejoiningGroup struct {
	sarama.ConsumerGroup
	r     *rejoiner
	group string
}

// Consume joins the group and consumes one session, as sarama's does; a
// join that fails with a transient error is made again after a backoff,
// until a session ends (nil), ctx ends (nil: goka stops), the error is not
// transient, or the budget is spent (*RejoinError).
func (c *rejoiningGroup) Consume(ctx context.Context, topics []string, handler sarama.ConsumerGroupHandler) error {
	for {
		h := &observedHandler{inner: handler, setUp: c.r.sessionStarted}
		err := c.ConsumerGroup.Consume(ctx, topics, h)
		if err == nil || ctx.Err() != nil || h.failed.Load() || !transientGroupError(err) {
			return err
		}
		n := c.r.failed(err)
		if n > c.r.policy.MaxAttempts {
			c.r.logger.Error("gokaadapter: giving up on the group after joins in a row failed",
				slog.String("group", c.group), slog.Int("joins", n), slog.String("error", err.Error()))
			return &RejoinError{Group: c.group, Attempts: n, Err: err}
		}
		wait := rejoinBackoff(c.r.policy, n)
		c.r.logger.Warn("gokaadapter: joining the group again after a transient error",
			slog.String("group", c.group), slog.Duration("in", wait), slog.Int("attempt", n),
			slog.Int("max_attempts", c.r.policy.MaxAttempts), slog.String("error", err.Error()))
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil // goka sees ctx done and stops, as after a session
		}
		c.r.rejoins.Add(1)
	}
}

// sessionStarted resets the count of failed joins in a row.
func (r *rejoiner) sessionStarted() {
	r.mu.Lock()
	r.mu.failing = 0
	r.mu.Unlock()
}

// failed counts a failed join and returns the count in a row.
func (r *rejoiner) failed(err error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.failing++
	r.mu.last = err
	return r.mu.failing
}

// rejoinBackoff is the wait after the n-th failed join in a row (n from 1).
func rejoinBackoff(p Rejoin, n int) time.Duration {
	d := p.InitialBackoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

// observedHandler calls setUp when a session was set up, and records
// whether a handler method failed. sarama calls Setup and Cleanup from
// within Consume, so Consume's return orders them before the read of
// failed; the atomic keeps it obviously race-free.
type observedHandler struct {
	inner  sarama.ConsumerGroupHandler
	setUp  func()
	failed atomic.Bool
}

func (h *observedHandler) Setup(s sarama.ConsumerGroupSession) error {
	err := h.inner.Setup(s)
	if err != nil {
		h.failed.Store(true)
	} else {
		h.setUp()
	}
	return err
}

func (h *observedHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	err := h.inner.Cleanup(s)
	if err != nil {
		h.failed.Store(true)
	}
	return err
}

func (h *observedHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	return h.inner.ConsumeClaim(s, c)
}

// transientGroupError reports whether err, returned by a consumer group's
// Consume without a handler error, is worth another join: a network
// failure or timeout (a JoinGroup held past the read timeout, a broker that
// restarts), or a group state that the broker resolves by itself (the
// coordinator moves or loads, a rebalance runs, the member or generation
// is stale). Anything else, known or not, is permanent: authentication,
// authorization, TLS verification, a rejected configuration (session
// timeout, protocol), a closed group, and cancellation.
func transientGroupError(err error) bool {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, sarama.ErrClosedConsumerGroup), errors.Is(err, sarama.ErrClosedClient),
		errors.Is(err, sarama.ErrSASLAuthenticationFailed) || permanentTLS(err):
		return false
	}
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		// The first broker answer in the chain decides, so that
		// "out of brokers" wrapping an authorization failure is
		// permanent.
		return transientKError[kerr]
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return true
	}
	for _, t := range transientErrors {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// transientErrors are the non-broker errors of a dropped or refused
// connection, and sarama's errors for having none.
var transientErrors = []error{
	io.EOF, io.ErrUnexpectedEOF, net.ErrClosed,
	syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
	sarama.ErrOutOfBrokers, sarama.ErrNotConnected,
}

// transientKError are the broker answers of a group that is moving or
// rebalancing (sarama retries some of them itself, a few times).
var transientKError = map[sarama.KError]bool{
	sarama.ErrConsumerCoordinatorNotAvailable: true,
	sarama.ErrNotCoordinatorForConsumer:       true,
	sarama.ErrOffsetsLoadInProgress:           true,
	sarama.ErrRebalanceInProgress:             true,
	sarama.ErrUnknownMemberId:                 true,
	sarama.ErrIllegalGeneration:               true,
	sarama.ErrRequestTimedOut:                 true,
	sarama.ErrLeaderNotAvailable:              true,
	sarama.ErrNotLeaderForPartition:           true,
	sarama.ErrNetworkException:                true,
}

// permanentTLS reports a TLS failure that another attempt would meet too.
func permanentTLS(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		header    tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &hostname) || errors.As(err, &header)
}
