package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/clusterflags"
	"github.com/riffle-streams/riffle/examples/dedup/dedup"
)

// benchConfig is the parsed command line of "riffle bench".
type benchConfig struct {
	latencies     []time.Duration
	runs          int
	keys          int
	partitions    int
	workers       int // 0: asyncdsl.DefaultWorkers
	maxPending    int // 0: the executor's default
	maxPerPart    int // 0: the executor's default
	recordsSync   int // 0: scaled with the latency (syncRecords)
	recordsAsync  int // 0: scaled with the latency (asyncRecords)
	flush         time.Duration
	syncProducer  string // producerSarama or producerKgo
	asyncProducer string
	out           string
	cpuProfile    string
	memProfile    string
	mutexProfile  string
	blockProfile  string
	profileMode   string
	runTimeout    time.Duration
	progress      bool
	callTimeout   time.Duration
	maxOther      float64
	retries       int

	workload string  // "counter" or "dedup"
	dupRate  float64 // dedup: fraction of duplicate events
	window   time.Duration
	redis    string // dedup: Redis address of the window; "" in memory
	svg      string // write the plot here

	brokers  string               // a real cluster's brokers; "" for the embedded one
	security *clusterflags.Client // how to reach -brokers
}

// The producers of -sync-producer and -async-producer.
const (
	producerSarama = "sarama" // goka's own: kafka.Settings.ProducerBuilder
	producerKgo    = "kgo"    // franz-go's client: kafka.Settings.KgoProducerBuilder
)

// The workloads of -workload.
const (
	workloadCounter = "counter"
	workloadDedup   = "dedup"
)

// Sizing of the runs; see syncRecords and asyncRecords.
const (
	runTarget        = 3 * time.Second // what a run should take, roughly
	minSyncRecords   = 2_000
	syncRecordsAt0   = 200_000
	minAsyncRecords  = 50_000
	maxAsyncRecords  = 200_000
	defaultRunTimout = 5 * time.Minute
)

func parseBenchConfig(args []string, stderr io.Writer) (benchConfig, error) {
	fs := flag.NewFlagSet("riffle bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		c         benchConfig
		latencies string
	)
	fs.StringVar(&latencies, "latencies", "0,1,2,5,10", "remote call latencies to sweep, in ms, comma-separated")
	fs.IntVar(&c.runs, "runs", 3, "runs per mode and latency (sync and async alternate); the median is reported")
	fs.IntVar(&c.keys, "keys", 1000, "distinct keys")
	fs.IntVar(&c.partitions, "partitions", 4, "partitions of the input and output topics")
	fs.IntVar(&c.workers, "workers", 0, fmt.Sprintf("executor workers, the in-flight cap P (0: asyncdsl's default, %d)", asyncdsl.DefaultWorkers))
	fs.IntVar(&c.maxPending, "max-pending", 0, fmt.Sprintf("executor's max pending records (0: default, %d)", asyncdsl.DefaultMaxPending))
	fs.IntVar(&c.maxPerPart, "max-pending-per-partition", 0, fmt.Sprintf("executor's max pending records per partition (0: default, %d)", asyncdsl.DefaultMaxPendingPerPartition))
	fs.IntVar(&c.recordsSync, "records-sync", 0, fmt.Sprintf("records per sync run (0: %d at 0 ms, else max(%d, %s x partitions / latency))", syncRecordsAt0, minSyncRecords, runTarget))
	fs.IntVar(&c.recordsAsync, "records-async", 0, fmt.Sprintf("records per async run (0: %d at 0 ms, else %s x min(keys, workers) / latency, within [%d, %d])", maxAsyncRecords, runTarget, minAsyncRecords, maxAsyncRecords))
	fs.DurationVar(&c.callTimeout, "call-timeout", asyncdsl.DefaultCallTimeout, "executor's per-attempt deadline (0: none, which saves a timer per record)")
	fs.DurationVar(&c.flush, "flush", 0, "sarama Producer.Flush.Frequency of goka's producers (0: the broker package's default)")
	fs.StringVar(&c.syncProducer, "sync-producer", producerSarama, "producer of the sync runs: sarama (goka's own, as plain goka runs) or kgo (franz-go's client, kafka.Settings.KgoProducerBuilder)")
	fs.StringVar(&c.asyncProducer, "async-producer", producerKgo, "producer of the async runs: kgo (as riffle recommends) or sarama")
	fs.StringVar(&c.out, "out", "", "also write the results as a markdown table to this file")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of each run of -profile-mode to `prefix`-<mode>-<latency>ms-<run>.pprof")
	fs.StringVar(&c.memProfile, "memprofile", "", "write allocation profiles (at the start and the end of each run of -profile-mode; compare with pprof -diff_base) to `prefix`-<mode>-<latency>ms-<run>-{start,end}.pprof")
	fs.StringVar(&c.mutexProfile, "mutexprofile", "", "write a mutex contention profile (1 in 10 events) of each run of -profile-mode to `prefix`-<mode>-<latency>ms-<run>.pprof; it accumulates over the profiled runs")
	fs.StringVar(&c.blockProfile, "blockprofile", "", "write a blocking profile (events of 10 µs and more) of each run of -profile-mode to `prefix`-<mode>-<latency>ms-<run>.pprof; it accumulates over the profiled runs")
	fs.StringVar(&c.profileMode, "profile-mode", "async", "runs that the profile flags profile: sync, async or all")
	fs.BoolVar(&c.progress, "progress", false, "print each run's progress (records/s, in flight, pending) every 250 ms")
	fs.Float64Var(&c.maxOther, "max-other-load", 0, "redo a run when other processes kept more than this many cores busy during it (0: never; Linux only)")
	fs.IntVar(&c.retries, "retries", 5, "how often -max-other-load redoes one run at most")
	fs.DurationVar(&c.runTimeout, "run-timeout", defaultRunTimout, "give up on a run after this long")
	fs.StringVar(&c.workload, "workload", workloadCounter, "counter: read, remote call, write, emit per record; dedup: the windowed-dedup reference workload, latency injected into its window store, output verified")
	fs.Float64Var(&c.dupRate, "dup-rate", dedup.DefaultDupRate, "dedup: fraction of events that repeat a recent id, within [0, 1)")
	fs.DurationVar(&c.window, "window", dedup.DefaultWindow, "dedup: the dedup window")
	fs.StringVar(&c.redis, "redis", "", "dedup: host:port of a Redis server for the window (default: in memory)")
	fs.StringVar(&c.svg, "svg", "", "also write a plot of throughput against latency (log scale) to this SVG file")
	fs.StringVar(&c.brokers, "brokers", "", "comma-separated brokers of a Kafka cluster to run on (default: an embedded broker in this process); the runs create and delete their topics")
	c.security = clusterflags.AddClient(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	for _, f := range strings.Split(latencies, ",") {
		ms, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || ms < 0 || math.IsInf(ms, 0) {
			problems = append(problems, fmt.Sprintf("bad latency %q (want milliseconds >= 0)", f))
			continue
		}
		c.latencies = append(c.latencies, time.Duration(ms*float64(time.Millisecond)))
	}
	if c.runs < 1 {
		problems = append(problems, "-runs must be at least 1")
	}
	if c.keys < 1 || c.partitions < 1 || c.workers < 0 || c.maxPending < 0 || c.maxPerPart < 0 || c.recordsSync < 0 || c.recordsAsync < 0 || c.flush < 0 || c.callTimeout < 0 || c.maxOther < 0 || c.retries < 0 {
		problems = append(problems, "-keys and -partitions must be positive; counts, -flush and -call-timeout must not be negative")
	}
	switch c.workload {
	case workloadCounter, workloadDedup:
	default:
		problems = append(problems, fmt.Sprintf("-workload must be counter or dedup, got %q", c.workload))
	}
	if !(c.dupRate >= 0 && c.dupRate < 1) || c.window <= 0 {
		problems = append(problems, "-dup-rate must be within [0, 1) and -window positive")
	}
	for _, p := range []string{c.syncProducer, c.asyncProducer} {
		if p != producerSarama && p != producerKgo {
			problems = append(problems, fmt.Sprintf("-sync-producer and -async-producer must be sarama or kgo, got %q", p))
		}
	}
	if c.brokers == "" && c.security.Set() {
		problems = append(problems, "-tls, -tls-ca and -sasl-* need -brokers")
	}
	switch c.profileMode {
	case "sync", "async", "all":
	default:
		problems = append(problems, fmt.Sprintf("-profile-mode must be sync, async or all, got %q", c.profileMode))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, "riffle bench:", p)
		}
		return c, errUsage
	}
	return c, nil
}

// inFlightCap is P of the physical bound: the executor's workers.
func (c benchConfig) inFlightCap() int {
	if c.workers > 0 {
		return c.workers
	}
	return asyncdsl.DefaultWorkers
}

// syncRecords sizes a sync run so that it takes about runTarget: plain goka
// does at most partitions/latency records per second.
func (c benchConfig) syncRecords(l time.Duration) int {
	if c.recordsSync > 0 {
		return c.recordsSync
	}
	if l == 0 {
		return syncRecordsAt0
	}
	return max(minSyncRecords, int(runTarget.Seconds()*float64(c.partitions)/l.Seconds()))
}

// asyncRecords sizes an async run to about runTarget at the latency bound
// min(keys, workers)/latency, with enough records to amortise the startup.
func (c benchConfig) asyncRecords(l time.Duration) int {
	if c.recordsAsync > 0 {
		return c.recordsAsync
	}
	if l == 0 {
		return maxAsyncRecords
	}
	n := int(runTarget.Seconds() * float64(min(c.keys, c.inFlightCap())) / l.Seconds())
	return min(maxAsyncRecords, max(minAsyncRecords, n))
}

// storeName describes the dedup workload's window store.
func (c benchConfig) storeName() string {
	if c.redis != "" {
		return "Redis at " + c.redis
	}
	return "in memory"
}
