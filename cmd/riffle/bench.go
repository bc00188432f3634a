package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/examples/dedup/dedup"
	"github.com/riffle-streams/riffle/internal/workload"
	"github.com/riffle-streams/riffle/kafka"
)

// runBench is "riffle bench": for each latency it runs the workload (the
// counter workload, or with -workload dedup the windowed-dedup reference
// workload) sync and async, alternating, cfg.runs times each, on one
// embedded broker, and reports medians, the speedup and how close async
// comes to the physical bound min(C, K/L, P/L).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBenchConfig(args, stderr)
	if err != nil {
		return err
	}
	settings, closeCluster, err := benchSettings(cfg, os.Getenv)
	if err != nil {
		return err
	}
	defer closeCluster()

	b := &bench{cfg: cfg, settings: settings, stderr: stderr}
	env := describeEnv(args)
	began := time.Now()
	fmt.Fprintf(stderr, "%s\n", env.header())
	if cfg.workload == workloadDedup {
		fmt.Fprintf(stderr, "workload dedup: %.0f%% duplicate events, window %s, window store %s behind the latency injector; partitions %d, workers (P) %d, runs %d per mode and latency\n",
			100*cfg.dupRate, cfg.window, cfg.storeName(), cfg.partitions, cfg.inFlightCap(), cfg.runs)
	} else {
		fmt.Fprintf(stderr, "keys %d, partitions %d, workers (P) %d, runs %d per mode and latency\n",
			cfg.keys, cfg.partitions, cfg.inFlightCap(), cfg.runs)
	}
	fmt.Fprintf(stderr, "producers: sync %s, async %s (-sync-producer, -async-producer)\n", cfg.syncProducer, cfg.asyncProducer)
	for _, l := range cfg.latencies {
		fmt.Fprintf(stderr, "  %5s: %7d records per sync run, %7d per async run\n", fmtMS(l), cfg.syncRecords(l), cfg.asyncRecords(l))
	}

	var rows []*row
	for _, l := range cfg.latencies {
		r, err := b.sweepLatency(ctx, l)
		if err != nil {
			return err
		}
		if l > 0 {
			r.timerRPS, r.timerMean = timerCeiling(ctx, cfg.inFlightCap(), l, timerCeilingRun)
			fmt.Fprintf(stderr, "%5s timer ceiling: %.0f waits/s, a wait took %.3f ms\n", fmtMS(l), r.timerRPS, float64(r.timerMean)/float64(time.Millisecond))
		}
		rows = append(rows, r)
	}
	// C, the ceiling of the bound, is sync's median at 0 ms in this run.
	var c float64
	for _, r := range rows {
		if r.latency == 0 {
			c = r.syncRPS
		}
	}
	if c == 0 {
		fmt.Fprintln(stderr, "measuring C: sync at 0 ms (0 ms is not in -latencies)")
		r, err := b.sweepModes(ctx, 0, workload.Sync)
		if err != nil {
			return err
		}
		c = r.syncRPS
	}
	for _, r := range rows {
		r.computeBound(c, cfg)
	}
	env.took = time.Since(began)
	env.loadAfter = loadAverage()

	printTable(stdout, env, cfg, c, rows)
	if cfg.out != "" {
		if err := writeMarkdown(cfg.out, env, cfg, c, rows); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", cfg.out)
	}
	if cfg.svg != "" {
		if err := writeSVG(cfg.svg, env, cfg, rows); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", cfg.svg)
	}
	return printJSON(stdout, cfg, rows)
}

// benchSettings are the settings of the cluster the sweep runs on: a new
// embedded broker (closed by the returned func), or the one of -brokers,
// reached with the security flags (getenv reads the password's variable).
func benchSettings(cfg benchConfig, getenv func(string) string) (kafka.Settings, func(), error) {
	var sc *sarama.Config // nil: the default
	if cfg.flush > 0 {
		sc = kafka.DefaultSaramaConfig()
		sc.Producer.Flush.Frequency = cfg.flush
	}
	if cfg.brokers == "" {
		opts := []broker.Option{broker.WithPartitions(cfg.partitions)}
		if sc != nil {
			opts = append(opts, broker.WithSaramaConfig(sc))
		}
		cluster, err := broker.Start(opts...)
		if err != nil {
			return kafka.Settings{}, nil, err
		}
		return cluster.Settings(), cluster.Close, nil
	}
	ropts, err := cfg.security.RemoteOptions(getenv)
	if err != nil {
		return kafka.Settings{}, nil, err
	}
	ropts = append(ropts, kafka.WithPartitions(cfg.partitions))
	if sc != nil {
		ropts = append(ropts, kafka.WithSaramaConfig(sc))
	}
	s, err := kafka.Remote(strings.Split(cfg.brokers, ","), ropts...)
	if err != nil {
		return kafka.Settings{}, nil, err
	}
	return s, func() {}, nil
}

// bench runs the sweep's runs on one cluster.
type bench struct {
	cfg      benchConfig
	settings kafka.Settings
	stderr   io.Writer
}

// sweepLatency runs both modes at latency l, alternating.
func (b *bench) sweepLatency(ctx context.Context, l time.Duration) (*row, error) {
	return b.sweepModes(ctx, l, workload.Sync, workload.Async)
}

func (b *bench) sweepModes(ctx context.Context, l time.Duration, modes ...workload.Mode) (*row, error) {
	r := &row{latency: l}
	for i := 1; i <= b.cfg.runs; i++ {
		for _, m := range modes {
			res, err := b.run(ctx, m, l, i)
			if err != nil {
				return nil, err
			}
			if r.keys == 0 || res.Keys < r.keys {
				r.keys = res.Keys
			}
			if m == workload.Sync {
				r.sync = append(r.sync, res)
			} else {
				r.async = append(r.async, res)
			}
		}
	}
	r.summarize()
	return r, nil
}

// otherLoadWait is how long run waits before it redoes a run that other
// processes disturbed.
const otherLoadWait = 3 * time.Second

// run is one measured run, redone (up to cfg.retries times) while other
// processes kept more than cfg.maxOther cores busy during it.
func (b *bench) run(ctx context.Context, m workload.Mode, l time.Duration, i int) (workload.Result, error) {
	for attempt := 0; ; attempt++ {
		res, err := b.runOnce(ctx, m, l, i)
		if err != nil || b.cfg.maxOther <= 0 || res.OtherCores() <= b.cfg.maxOther || attempt >= b.cfg.retries {
			return res, err
		}
		fmt.Fprintf(b.stderr, "      redoing: other processes kept %.2f cores busy (limit %.2f)\n", res.OtherCores(), b.cfg.maxOther)
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(otherLoadWait):
		}
	}
}

// runOnce is one measured run, reported on stderr.
func (b *bench) runOnce(ctx context.Context, m workload.Mode, l time.Duration, i int) (workload.Result, error) {
	records := b.cfg.syncRecords(l)
	if m == workload.Async {
		records = b.cfg.asyncRecords(l)
	}
	var exec []asyncdsl.Option
	if b.cfg.maxPending > 0 {
		exec = append(exec, asyncdsl.WithMaxPending(b.cfg.maxPending))
	}
	if b.cfg.callTimeout != asyncdsl.DefaultCallTimeout {
		exec = append(exec, asyncdsl.WithCallTimeout(b.cfg.callTimeout))
	}
	if b.cfg.maxPerPart > 0 {
		exec = append(exec, asyncdsl.WithMaxPendingPerPartition(b.cfg.maxPerPart))
	}
	// The dedup workload: a new set of events per run (seeded by the run's
	// number, so that sync and async see the same ids), verified after it.
	var (
		task *workload.Task
		dd   *dedupRun
		keys = b.cfg.keys
		name = "bench"
	)
	if b.cfg.workload == workloadDedup {
		dd = newDedupRun(records, b.cfg.dupRate, uint64(i),
			dedup.WindowConfig{Window: b.cfg.window, Redis: b.cfg.redis, PoolSize: b.cfg.inFlightCap()})
		defer func() { _ = dd.close() }()
		task, keys, name = dd.task(), dd.events.Unique(), "bench-dedup"
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.runTimeout)
	defer cancel()
	var profErr error
	var progress func(workload.Progress)
	if b.cfg.progress {
		progress = func(p workload.Progress) {
			fmt.Fprintf(b.stderr, "      %6.2f s  %7d/%d  %8.0f records/s  in flight %4d  pending %5d\n",
				p.Elapsed.Seconds(), p.Done, p.Total, p.RPS, p.InFlight, p.Pending)
		}
	}
	res, err := workload.Run(ctx, workload.Config{
		Settings:   b.settings,
		Mode:       m,
		Latency:    l,
		Records:    records,
		Keys:       keys,
		Task:       task,
		Partitions: b.cfg.partitions,
		Workers:    b.cfg.workers,
		Executor:   exec,
		Producer:   b.producer(m),
		Name:       name,
		OnStart:    b.profiler(m, l, i, &profErr),
		Progress:   progress,
	})
	if err != nil {
		return res, fmt.Errorf("%s run %d at %s: %w", m, i, fmtMS(l), err)
	}
	if profErr != nil {
		return res, profErr
	}
	if dd != nil {
		if err := dd.err(); err != nil {
			return res, fmt.Errorf("%s run %d at %s: %w", m, i, fmtMS(l), err)
		}
		v, _ := dd.verdict()
		fmt.Fprintf(b.stderr, "%5s %-5s run %d/%d: verdict %s\n", fmtMS(l), m, i, b.cfg.runs, v)
	}
	fmt.Fprintf(b.stderr, "%5s %-5s run %d/%d: %7d records in %6.2f s = %8.0f records/s (ready %s, output %s, committed %s), callback %.2f ms, cpu %.3f s/1k, %.0f allocs/record, peak heap %s, max in flight %d, max pending %d, other processes %.2f cores\n",
		fmtMS(l), m, i, b.cfg.runs, res.Records, res.Elapsed.Seconds(), res.RPS,
		res.Ready.Round(time.Millisecond), res.OutputDone.Round(time.Millisecond), res.CommitDone.Round(time.Millisecond),
		float64(res.CallbackMean)/float64(time.Millisecond), res.CPUPer1k().Seconds(), res.AllocsPerRecord(), fmtMiB(res.PeakHeap), res.MaxInFlight, res.MaxPending, res.OtherCores())
	return res, nil
}

// producer returns the producer builder of mode m's runs.
func (b *bench) producer(m workload.Mode) goka.ProducerBuilder {
	kind := b.cfg.syncProducer
	if m == workload.Async {
		kind = b.cfg.asyncProducer
	}
	if kind == producerKgo {
		return b.settings.KgoProducerBuilder()
	}
	return b.settings.ProducerBuilder()
}

// profiler returns the OnStart hook that profiles the run, or nil.
func (b *bench) profiler(m workload.Mode, l time.Duration, i int, errp *error) func() func() {
	profiling := b.cfg.cpuProfile != "" || b.cfg.memProfile != "" || b.cfg.mutexProfile != "" || b.cfg.blockProfile != ""
	if !profiling || (b.cfg.profileMode != "all" && b.cfg.profileMode != m.String()) {
		return nil
	}
	name := func(prefix, suffix string) string {
		return fmt.Sprintf("%s-%s-%sms-%d%s.pprof", prefix, m, strings.TrimSuffix(fmtMS(l), " ms"), i, suffix)
	}
	fail := func(err error) {
		if *errp == nil {
			*errp = fmt.Errorf("profile: %w", err)
		}
	}
	return func() func() {
		var stops []func()
		if b.cfg.memProfile != "" {
			runtime.MemProfileRate = 64 << 10 // finer than the default 512 KiB
			if err := writeAllocs(name(b.cfg.memProfile, "-start")); err != nil {
				fail(err)
			}
			stops = append(stops, func() {
				path := name(b.cfg.memProfile, "-end")
				if err := writeAllocs(path); err != nil {
					fail(err)
				}
				fmt.Fprintf(b.stderr, "wrote %s\n", path)
			})
		}
		if b.cfg.mutexProfile != "" {
			runtime.SetMutexProfileFraction(mutexFraction)
			stops = append(stops, func() {
				runtime.SetMutexProfileFraction(0)
				path := name(b.cfg.mutexProfile, "")
				if err := writeProfile("mutex", path); err != nil {
					fail(err)
				}
				fmt.Fprintf(b.stderr, "wrote %s\n", path)
			})
		}
		if b.cfg.blockProfile != "" {
			runtime.SetBlockProfileRate(int(blockRate.Nanoseconds()))
			stops = append(stops, func() {
				runtime.SetBlockProfileRate(0)
				path := name(b.cfg.blockProfile, "")
				if err := writeProfile("block", path); err != nil {
					fail(err)
				}
				fmt.Fprintf(b.stderr, "wrote %s\n", path)
			})
		}
		if b.cfg.cpuProfile != "" {
			path := name(b.cfg.cpuProfile, "")
			f, err := os.Create(path)
			if err != nil {
				fail(err)
			} else if err := pprof.StartCPUProfile(f); err != nil {
				_ = f.Close()
				fail(err)
			} else {
				stops = append(stops, func() {
					pprof.StopCPUProfile()
					if err := f.Close(); err != nil {
						fail(err)
					}
					fmt.Fprintf(b.stderr, "wrote %s\n", path)
				})
			}
		}
		return func() {
			for _, stop := range stops {
				stop()
			}
		}
	}
}

// Sampling of -mutexprofile and -blockprofile.
const (
	mutexFraction = 10
	blockRate     = 10 * time.Microsecond
)

// writeAllocs writes the allocation profile (cumulative since the start of
// the process) to path.
func writeAllocs(path string) error {
	runtime.GC() // the profile reflects the last GC
	return writeProfile("allocs", path)
}

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup(name).WriteTo(f, 0)
	return errors.Join(err, f.Close())
}

// env describes where and how the sweep ran.
type env struct {
	command    string
	goVersion  string
	cpus       int
	gomaxprocs int
	loadBefore string
	loadAfter  string
	started    time.Time
	took       time.Duration
}

func describeEnv(args []string) *env {
	return &env{
		command:    strings.TrimSpace("go run ./cmd/riffle bench " + strings.Join(args, " ")),
		goVersion:  runtime.Version(),
		cpus:       runtime.NumCPU(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		loadBefore: loadAverage(),
		started:    time.Now(),
	}
}

func (e *env) header() string {
	return fmt.Sprintf("riffle bench: %s, %s/%s, %d CPUs (GOMAXPROCS %d), load average %s",
		e.goVersion, runtime.GOOS, runtime.GOARCH, e.cpus, e.gomaxprocs, e.loadBefore)
}

// loadAverage returns the 1, 5 and 15 minute load averages, or "n/a".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}
