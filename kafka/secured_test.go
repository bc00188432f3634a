package kafka_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	gokacodec "github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/codec"
	"github.com/riffle-streams/riffle/dsl"
	gokaadapter "github.com/riffle-streams/riffle/goka_adapter"
	"github.com/riffle-streams/riffle/internal/logcapture"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/riffle-streams/riffle/tracing"
	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// securedMode is one security setup of the embedded cluster.
type securedMode struct {
	name      string
	tls       bool
	mechanism sarama.SASLMechanism // "" for no SASL
}

var securedModes = []securedMode{
	{name: "tls", tls: true},
	{name: "plain", mechanism: sarama.SASLTypePlaintext},
	{name: "scram-sha-256", mechanism: sarama.SASLTypeSCRAMSHA256},
	{name: "scram-sha-512", mechanism: sarama.SASLTypeSCRAMSHA512},
	{name: "tls+plain", tls: true, mechanism: sarama.SASLTypePlaintext},
	{name: "tls+scram-sha-512", tls: true, mechanism: sarama.SASLTypeSCRAMSHA512},
}

// The passwords are distinctive, so that a leak of one into a log line, an
// error, a span or a header is found by a plain substring search.
const (
	securedUser   = "riffle-user"
	securedSecret = "S3cret-Zebra-Password-7781"
	wrongSecret   = "Wr0ng-Okapi-Password-4410"
)

// leakWatch collects every text a run produces that a user could see: logs
// of sarama, goka and franz-go (it is a goka.Logger and a writer), errors,
// spans and dead-letter headers (Printf).
type leakWatch struct {
	logcapture.Log
}

func (w *leakWatch) check(t *testing.T) {
	t.Helper()
	seen := w.String()
	for _, secret := range []string{securedSecret, wrongSecret} {
		if i := strings.Index(seen, secret); i >= 0 {
			t.Errorf("a credential appears in what the run showed, at byte %d of %d:\n%s", i, len(seen),
				seen[max(0, i-300):min(len(seen), i+100)])
		}
	}
}

// TestSecuredClusters runs riffle's clients against the embedded cluster in
// each security mode: topic creation, the adapter with both producers, the
// DSL's Run with both, and refused credentials, which must fail promptly with
// ErrAuthenticationFailed. Nothing any of it logs, returns, traces or writes
// may contain a password.
func TestSecuredClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("embedded broker")
	}
	watch := &leakWatch{}
	t.Cleanup(func() {
		// sarama's logger is global: TestMain points it at SaramaLog.
		watch.Printf("%s", kafka.SaramaLog.String())
		watch.check(t)
	})
	server, roots := kafka.SelfSignedTLS(t)
	for _, m := range securedModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			var opts []broker.Option
			if m.tls {
				opts = append(opts, broker.WithClusterTLS(server))
			}
			if m.mechanism != "" {
				opts = append(opts, broker.WithSASL(m.mechanism, securedUser, securedSecret))
			}
			c, err := broker.Start(opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			s := c.Settings()
			watch.Printf("settings %v %+v %#v %s", s, s, s, s)
			if !strings.Contains(s.String(), fmt.Sprintf("TLS: %t", m.tls)) {
				t.Errorf("String() = %s, want TLS: %t", s, m.tls)
			}

			t.Run("topics", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := s.EnsureTopics(ctx, "topics-a", "topics-b"); err != nil {
					t.Fatal(err)
				}
			})
			for _, p := range []struct {
				name    string
				builder goka.ProducerBuilder
			}{{"adapter/sarama", s.ProducerBuilder()}, {"adapter/kgo", s.KgoProducerBuilder()}} {
				t.Run(p.name, func(t *testing.T) { adapterRoundTrip(t, s, strings.TrimPrefix(p.name, "adapter/"), p.builder, watch) })
			}
			for _, p := range []struct {
				name     string
				producer dsl.Producer
			}{{"dsl/default", dsl.DefaultProducers}, {"dsl/sarama", dsl.SaramaProducer}} {
				t.Run(p.name, func(t *testing.T) { dslRoundTrip(t, s, strings.TrimPrefix(p.name, "dsl/"), p.producer, watch) })
			}
			if m.mechanism == "" {
				return
			}
			t.Run("wrong password", func(t *testing.T) {
				ropts := []kafka.Option{kafka.WithSASL(m.mechanism, securedUser, wrongSecret)}
				if m.tls {
					ropts = append(ropts, kafka.WithTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
				}
				wrong, err := kafka.Remote(c.Brokers(), ropts...)
				if err != nil {
					t.Fatal(err)
				}
				watch.Printf("wrong settings %v %#v", wrong, wrong)
				refused(t, wrong, watch)
			})
		})
	}
}

// promptly is how long a refused client may take to say so: well under
// franz-go's 30 s retry timeout and sarama's 30 s read timeout.
const promptly = 10 * time.Second

// refused checks that every client of s fails promptly with
// ErrAuthenticationFailed.
func refused(t *testing.T, s kafka.Settings, watch *leakWatch) {
	check := func(what string, f func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		began := time.Now()
		err := f(ctx)
		took := time.Since(began)
		watch.Printf("%s: %v", what, err)
		if !errors.Is(err, kafka.ErrAuthenticationFailed) {
			t.Errorf("%s: %v, want ErrAuthenticationFailed", what, err)
		}
		if took > promptly {
			t.Errorf("%s: took %s to fail, want under %s", what, took, promptly)
		}
	}
	check("EnsureTopics", func(ctx context.Context) error { return s.EnsureTopics(ctx, "refused") })
	check("franz-go producer", func(ctx context.Context) error {
		p, err := s.KgoProducerBuilder()(nil, "refused", goka.DefaultHasher())
		if err != nil {
			return err
		}
		defer func() { _ = p.Close() }()
		errc := make(chan error, 1)
		p.Emit("refused", "key", []byte("value")).Then(func(err error) { errc <- err })
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	check("sarama producer", func(context.Context) error {
		p, err := s.ProducerBuilder()(nil, "refused", goka.DefaultHasher())
		if err == nil {
			_ = p.Close()
		}
		return err
	})
	check("sarama consumer group", func(context.Context) error {
		g, err := s.ConsumerGroupBuilder()(nil, "refused", "refused")
		if err == nil {
			_ = g.Close()
		}
		return err
	})
	check("DSL Run", func(ctx context.Context) error {
		return passThrough(t, "refused").Run(ctx, dsl.OnCluster(s), dsl.WithStorage(storage.MemoryBuilder()))
	})
	// goka formats the errors of the builders with %v: through a goka
	// processor, the message says it, errors.Is cannot.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	began := time.Now()
	a, err := gokaadapter.New(gokaadapter.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
		gokaadapter.WithProducerBuilder(s.KgoProducerBuilder()), gokaadapter.WithTopicManagerBuilder(s.TopicManagerBuilder()),
		gokaadapter.WithStorageBuilder(storage.MemoryBuilder()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	proc, err := a.NewProcessor(s.Brokers, goka.DefineGroup("refused",
		goka.Input("refused-in", new(gokacodec.String), a.Async(func(goka.Context, any) {}))),
		goka.WithConsumerSaramaBuilder(s.ConsumerBuilder()), goka.WithLogger(watch))
	if err == nil {
		err = proc.Run(ctx)
	}
	watch.Printf("adapter processor: %v", err)
	if err == nil || !strings.Contains(err.Error(), kafka.ErrAuthenticationFailed.Error()) {
		t.Errorf("adapter processor: %v, want a message with %q", err, kafka.ErrAuthenticationFailed)
	}
	if took := time.Since(began); took > promptly {
		t.Errorf("adapter processor: took %s to fail, want under %s", took, promptly)
	}
}

// adapterRoundTrip runs an async processor that forwards its input, with a
// dead-letter policy and tracing, through producer, and checks the output,
// the dead letter, and that neither its spans nor its headers carry a
// password.
func adapterRoundTrip(t *testing.T, s kafka.Settings, name string, producer goka.ProducerBuilder, watch *leakWatch) {
	in, out := goka.Stream("adapter-in-"+name), goka.Stream("adapter-out-"+name)
	group := goka.Group("adapter-" + name)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.EnsureTopics(ctx, string(in), string(out)); err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr, err := tracing.New(tracing.WithTracerProvider(tp), tracing.WithRecordKey())
	if err != nil {
		t.Fatal(err)
	}
	a, err := gokaadapter.New(
		gokaadapter.WithConsumerGroupBuilder(s.ConsumerGroupBuilder()),
		gokaadapter.WithProducerBuilder(producer),
		gokaadapter.WithTopicManagerBuilder(s.TopicManagerBuilder()),
		gokaadapter.WithStorageBuilder(storage.MemoryBuilder()),
		gokaadapter.WithTracing(tr),
		gokaadapter.WithExecutor(asyncdsl.WithErrorPolicy(asyncdsl.DeadLetterOnError), asyncdsl.WithRetry(asyncdsl.Retry{MaxAttempts: 1})),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	proc, err := a.NewProcessor(s.Brokers, goka.DefineGroup(group,
		goka.Input(in, new(gokacodec.String), a.Async(func(ctx goka.Context, msg any) {
			if ctx.Key() == "dead" {
				ctx.Fail(errors.New("this record goes to the dead letters"))
			}
			ctx.Emit(out, ctx.Key(), msg)
		})),
		goka.Output(out, new(gokacodec.String)),
	), goka.WithConsumerSaramaBuilder(s.ConsumerBuilder()), goka.WithLogger(watch))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	const n = 20
	cl := newClient(t, s, watch)
	recs := []*kgo.Record{{Topic: string(in), Key: []byte("dead"), Value: []byte("x")}}
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: string(in), Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v")})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if got := consumeN(ctx, t, s, string(out), n, watch); len(got) != n {
		t.Fatalf("%d outputs, want %d", len(got), n)
	}
	dead := consumeN(ctx, t, s, string(group)+"-dead-letters", 1, watch)
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	for _, h := range dead[0].Headers {
		watch.Printf("dead-letter header %s=%s", h.Key, h.Value)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	done <- nil // for the deferred stop
	for _, sp := range spans.Ended() {
		watch.Printf("span %s %v %v", sp.Name(), sp.Attributes(), sp.Status())
		for _, ev := range sp.Events() {
			watch.Printf("  event %s %v", ev.Name, ev.Attributes)
		}
	}
	if len(spans.Ended()) == 0 {
		t.Error("no spans recorded")
	}
}

// passThrough is a topology with one async step that forwards its input.
func passThrough(t *testing.T, name string) *dsl.Topology {
	t.Helper()
	b := dsl.NewBuilder(name)
	dsl.ProcessValues(dsl.From(b, name+"-in", codec.String()), func(c *dsl.ValuesContext[string], _ string, v string) error {
		c.Forward(v)
		return nil
	}).Async(dsl.NewPool(name, asyncdsl.WithWorkers(4))).WithCodec(codec.String()).To(name+"-out", codec.String())
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// dslRoundTrip runs passThrough with producer and checks its output.
func dslRoundTrip(t *testing.T, s kafka.Settings, name string, producer dsl.Producer, watch *leakWatch) {
	name = "dsl-" + name
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run, err := passThrough(t, name).Start(ctx, dsl.OnCluster(s), dsl.WithStorage(storage.MemoryBuilder()),
		dsl.WithProducer(producer), dsl.WithProcessorOptions(goka.WithLogger(watch)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := run.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	if err := run.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 20
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: name + "-in", Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v")}
	}
	if err := newClient(t, s, watch).ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if got := consumeN(ctx, t, s, name+"-out", n, watch); len(got) != n {
		t.Fatalf("%d outputs, want %d", len(got), n)
	}
}

// newClient is a franz-go client of s that logs to watch at debug level.
func newClient(t *testing.T, s kafka.Settings, watch *leakWatch, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(s.KgoOptions(), append([]kgo.Opt{kgo.WithLogger(kgo.BasicLogger(watch, kgo.LogLevelDebug, nil))}, opts...)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// consumeN reads topic from its start until it has n records or ctx ends.
func consumeN(ctx context.Context, t *testing.T, s kafka.Settings, topic string, n int, watch *leakWatch) []*kgo.Record {
	t.Helper()
	cl := newClient(t, s, watch, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []*kgo.Record
	for len(got) < n && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	return got
}
