// Command dedup is riffle's reference workload, the windowed deduplication
// app of the reference system's published experiment, run on plain goka or
// on riffle, with a self-check of its result.
//
//	go run ./examples/dedup                  riffle (async), 2 ms store latency
//	go run ./examples/dedup -sync            the same on plain goka
//	go run ./examples/dedup -compare         both, then the comparison (make demo)
//	go run ./examples/dedup -brokers host:9092 -redis 127.0.0.1:6379
//	RIFFLE_SASL_PASSWORD=... go run ./examples/dedup -brokers host:9093 \
//	    -tls-ca ca.pem -sasl-mechanism SCRAM-SHA-512 -sasl-user app
//
// The input is events with ids, a fraction -dup-rate of them repeating a
// recent id. The goka callback asks a window store "was this id seen within
// -window?" (and records it): if not, it emits the event; if so, it drops
// it. The store is remote: an in-memory window, or a real Redis with -redis,
// behind an injector that adds -latency to every call. The callback is the
// same function on plain goka (one record per partition at a time) and on
// riffle (gokaadapter's Async: one record per key at a time, records of
// different ids concurrently). Each writes through the producer it is used
// with: plain goka through goka's own (sarama), riffle through the franz-go
// producer it recommends (kafka.Settings.KgoProducerBuilder).
//
// It runs on an embedded Kafka broker (franz-go's kfake, in this process)
// unless -brokers names real ones. After each run it reads the output topic
// back and checks that every unique id was emitted exactly once, so that the
// duplicates dropped are the inputs minus the unique ids, and prints that
// verdict; it exits with status 1 if a verdict fails.
//
// The files are what a program of your own can copy: processor.go builds
// the group on plain goka and on riffle (the lines that differ), run.go
// produces the input, runs the processor until every offset is committed
// and checks the output, main.go reaches the cluster (the embedded one, or
// a secured one through package clusterflags). The app's logic (its events,
// its callback and the check of its output) is package examples/dedup/dedup,
// which riffle bench -workload dedup measures too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/clusterflags"
	"github.com/riffle-streams/riffle/examples/dedup/dedup"
	"github.com/riffle-streams/riffle/kafka"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "dedup:", err)
		os.Exit(1)
	}
}

// options are the app's flags.
type options struct {
	records, syncRecords int
	dupRate              float64
	window               time.Duration
	latency, jitter      time.Duration
	sync, compare        bool
	brokers, redis       string
	partitions, workers  int
	seed                 uint64
	progress             time.Duration
	timeout              time.Duration
	security             *clusterflags.Client // how to reach -brokers
}

func parse(args []string, w io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("dedup", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.IntVar(&o.records, "records", 150_000, "events of a riffle (async) run")
	fs.IntVar(&o.syncRecords, "sync-records", 0, "events of a plain goka (sync) run (0: about 4 s at plain goka's cap, partitions / latency, within [2,000, -records])")
	fs.Float64Var(&o.dupRate, "dup-rate", dedup.DefaultDupRate, "fraction of events that repeat a recent id, within [0, 1)")
	fs.DurationVar(&o.window, "window", dedup.DefaultWindow, "dedup window: an id is a duplicate if seen within this long before the event")
	fs.DurationVar(&o.latency, "latency", 2*time.Millisecond, "latency injected into every call to the window store")
	fs.DurationVar(&o.jitter, "jitter", 0, "extra latency drawn uniformly from [0, jitter) per call")
	fs.BoolVar(&o.sync, "sync", false, "run on plain goka (sync) instead of riffle")
	fs.BoolVar(&o.compare, "compare", false, "run plain goka, then riffle, and compare (what make demo does)")
	fs.StringVar(&o.brokers, "brokers", "", "comma-separated Kafka brokers (default: an embedded broker in this process)")
	fs.StringVar(&o.redis, "redis", "", "host:port of a Redis server to keep the window in (default: in memory)")
	fs.IntVar(&o.partitions, "partitions", 4, "partitions of the topics")
	fs.IntVar(&o.workers, "workers", asyncdsl.DefaultWorkers, "riffle's workers (callbacks in flight at most)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the ids and the jitter")
	fs.DurationVar(&o.progress, "progress", 500*time.Millisecond, "interval of the progress lines (0: none)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up on a run after this long")
	o.security = clusterflags.AddClient(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if o.sync && o.compare {
		problems = append(problems, "-sync and -compare exclude each other")
	}
	if o.records <= 0 || o.syncRecords < 0 || o.partitions <= 0 || o.workers <= 0 || o.latency < 0 || o.jitter < 0 || o.window <= 0 || o.progress < 0 || o.timeout <= 0 {
		problems = append(problems, "-records, -partitions, -workers, -window and -timeout must be positive; -sync-records, -latency, -jitter and -progress must not be negative")
	}
	if o.brokers == "" && o.security.Set() {
		problems = append(problems, "-tls, -tls-ca and -sasl-* need -brokers")
	}
	if !(o.dupRate >= 0 && o.dupRate < 1) {
		problems = append(problems, fmt.Sprintf("-dup-rate must be within [0, 1), got %v", o.dupRate))
	}
	if len(problems) > 0 {
		return o, errors.New(strings.Join(problems, "; "))
	}
	if o.syncRecords == 0 {
		o.syncRecords = o.records
		if o.latency > 0 {
			o.syncRecords = min(o.records, max(2_000, int(4*float64(o.partitions)/o.latency.Seconds())))
		}
	}
	return o, nil
}

// settings are the cluster's: a new embedded broker (closed by the returned
// func) or the real one of -brokers, reached with the security flags (getenv
// reads the password's variable).
func settings(o options, getenv func(string) string) (kafka.Settings, string, func(), error) {
	if o.brokers == "" {
		c, err := broker.Start(broker.WithPartitions(o.partitions))
		if err != nil {
			return kafka.Settings{}, "", nil, err
		}
		return c.Settings(), "an embedded Kafka broker (in this process)", c.Close, nil
	}
	ropts, err := o.security.RemoteOptions(getenv)
	if err != nil {
		return kafka.Settings{}, "", nil, err
	}
	s, err := kafka.Remote(strings.Split(o.brokers, ","), append(ropts, kafka.WithPartitions(o.partitions))...)
	if err != nil {
		return kafka.Settings{}, "", nil, err
	}
	return s, "Kafka at " + o.brokers, func() {}, nil
}

func run(ctx context.Context, args []string, w io.Writer) error {
	o, err := parse(args, w)
	if err != nil {
		return err
	}
	s, where, closeCluster, err := settings(o, os.Getenv)
	if err != nil {
		return err
	}
	defer closeCluster()

	store := "an in-memory window"
	if o.redis != "" {
		store = "a Redis window at " + o.redis
	}
	syncCap := float64(o.partitions) / o.latency.Seconds()
	fmt.Fprintf(w, "riffle dedup: %s, %d partitions.\n", where, o.partitions)
	fmt.Fprintf(w, "Events with ids, %.0f%% of them repeating a recent id. Per event, the goka callback asks the window store\n", 100*o.dupRate)
	fmt.Fprintf(w, "\"seen this id within %s?\" (%s, %s of latency injected per call): if not it emits the event, else drops it.\n", o.window, store, o.latency)
	if o.sync || o.compare {
		if o.latency > 0 {
			fmt.Fprintf(w, "Plain goka runs one record per partition at a time: at most %d / %s = %s events/s.\n", o.partitions, o.latency, thousands(syncCap))
		} else {
			fmt.Fprintf(w, "Plain goka runs one record per partition at a time.\n")
		}
	}
	if !o.sync {
		fmt.Fprintf(w, "riffle runs the same callback, unchanged, on %d workers: one event per id at a time, ids concurrently.\n", o.workers)
	}
	fmt.Fprintf(w, "A run counts until every event's offset is committed (goka commits a record once its output is written);\n")
	fmt.Fprintf(w, "then the output topic is read back and checked: every unique id emitted exactly once.\n")

	var modes []mode
	switch {
	case o.compare:
		modes = []mode{plainGoka, riffle}
	case o.sync:
		modes = []mode{plainGoka}
	default:
		modes = []mode{riffle}
	}
	type outcome struct {
		res     result
		verdict dedup.Verdict
	}
	var outcomes []outcome
	var failed []string
	for _, m := range modes {
		res, v, err := runOne(ctx, o, s, m, w)
		if err != nil {
			return err
		}
		if !v.OK() {
			failed = append(failed, m.String())
		}
		outcomes = append(outcomes, outcome{res, v})
	}

	if o.compare {
		syncRes, asyncRes := outcomes[0].res, outcomes[1].res
		fmt.Fprintln(w)
		fmt.Fprintf(w, "plain goka: %8s events/s\n", thousands(syncRes.rps))
		fmt.Fprintf(w, "riffle:     %8s events/s   %.0fx plain goka, same callback, same broker, same %s store latency\n",
			thousands(asyncRes.rps), asyncRes.rps/syncRes.rps, o.latency)
		fmt.Fprintln(w, "producers: plain goka writes through goka's own (sarama), riffle through franz-go's (kafka.Settings.KgoProducerBuilder), as each is used")
		if len(failed) == 0 {
			fmt.Fprintln(w, "both runs: every unique id emitted exactly once")
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w in %s", dedup.ErrVerdict, strings.Join(failed, " and "))
	}
	return nil
}

// thousands formats x rounded, with commas between thousands.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && c != '-' && (len(s)-i)%3 == 0 && !(i == 1 && s[0] == '-') {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
