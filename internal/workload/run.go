package workload

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// commitPollInterval is how often Run looks at the committed offsets once
// every output record has been read. goka's commits reach the broker every
// Consumer.Offsets.AutoCommit.Interval (100 ms with broker's defaults).
const commitPollInterval = 5 * time.Millisecond

// Result is what one run measured.
type Result struct {
	Mode    Mode
	Latency time.Duration
	Records int
	Keys    int
	Workers int // Config.Workers (0: the executor's default)

	// Elapsed is the measured time: from the processor's Run until every
	// output record was read and the committed offsets covered the input.
	Elapsed time.Duration
	// RPS is Records / Elapsed.
	RPS float64
	// Ready is when the processor reported ready (startup), OutputDone when
	// the last output record was read and CommitDone when the committed
	// offsets were seen to cover the input, all since Run was called.
	Ready, OutputDone, CommitDone time.Duration

	// CallbackMean is the mean duration of one run of the callback: the
	// remote call's timer as the Go runtime delivers it, plus the state read
	// and write. In Async mode it is the executor's attempt time.
	CallbackMean time.Duration

	// CPU is the process's user+system CPU time during Elapsed: the
	// processor, the embedded broker (when there is one) and the output
	// consumer.
	CPU time.Duration
	// BaseHeap is the heap after a GC right before the start; PeakHeap the
	// largest heap sampled (every 50 ms) during the run. Both count the
	// whole process, the embedded broker's in-memory logs included.
	BaseHeap, PeakHeap uint64
	// OtherCPU is the CPU time that other processes of the machine used
	// during Elapsed (machine-wide busy time from /proc/stat minus CPU);
	// -1 if unknown. On a shared machine it tells which runs competed for
	// the cores.
	OtherCPU time.Duration
	// Allocs and AllocBytes are the heap allocations of the whole process
	// during Elapsed (objects and bytes).
	Allocs, AllocBytes uint64
	// MaxInFlight and MaxPending are the largest Progress.InFlight and
	// Progress.Pending seen (sampled every ProgressInterval).
	MaxInFlight, MaxPending int

	// Produce is how long producing the input took (before the start; not
	// part of Elapsed).
	Produce time.Duration
}

// AllocsPerRecord is the heap allocations (objects) per record.
func (r Result) AllocsPerRecord() float64 {
	if r.Records == 0 {
		return 0
	}
	return float64(r.Allocs) / float64(r.Records)
}

// OtherCores is OtherCPU / Elapsed: how many cores other processes kept
// busy on average during the run; -1 if unknown.
func (r Result) OtherCores() float64 {
	if r.OtherCPU < 0 || r.Elapsed <= 0 {
		return -1
	}
	return r.OtherCPU.Seconds() / r.Elapsed.Seconds()
}

// CPUPer1k is the CPU time per 1,000 records.
func (r Result) CPUPer1k() time.Duration {
	if r.Records == 0 {
		return 0
	}
	return time.Duration(float64(r.CPU) * 1000 / float64(r.Records))
}

// Run produces cfg.Records input records, runs the workload's processor in
// cfg.Mode until every record was processed end to end (see the package
// doc), stops it and returns what it measured. ctx bounds the whole run.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	res = Result{Mode: cfg.Mode, Latency: cfg.Latency, Records: cfg.Records, Keys: cfg.Keys, Workers: cfg.Workers}
	cfg.Settings.Partitions = cfg.Partitions
	s := cfg.Settings
	n := newNames(cfg.Name, cfg.Mode)

	if err := s.EnsureTopics(ctx, string(n.input), string(n.output)); err != nil {
		return res, fmt.Errorf("workload: create topics: %w", err)
	}
	cl, err := kgo.NewClient(append(s.KgoOptions(), kgo.ProducerLinger(0))...)
	if err != nil {
		return res, fmt.Errorf("workload: client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if !cfg.KeepTopics {
		defer cleanup(adm, n)
	}

	began := time.Now()
	if err := produce(ctx, cl, string(n.input), cfg.Records, cfg.Task); err != nil {
		return res, err
	}
	res.Produce = time.Since(began)
	ends, err := endOffsets(ctx, adm, string(n.input))
	if err != nil {
		return res, err
	}

	out, err := startOutputCounter(s, string(n.output), cfg.Task.Outputs)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, out.stop()) }()

	info := RunInfo{Name: n.base, Mode: cfg.Mode, Latency: cfg.Latency, Input: n.input, Output: n.output, Settings: s}
	cb, err := cfg.Task.Callback(info)
	if err != nil {
		return res, fmt.Errorf("workload: %s callback: %w", cfg.Mode, err)
	}
	var proc *processor
	if cfg.Mode == Sync {
		proc, err = newSyncProcessor(cfg, n, cb)
	} else {
		proc, err = newAsyncProcessor(cfg, n, cb)
	}
	if err != nil {
		return res, err
	}

	runtime.GC()
	res.BaseHeap = heapBytes()
	heap := startHeapSampler()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var onEnd func()
	if cfg.OnStart != nil {
		onEnd = cfg.OnStart()
	}
	allocs0, allocBytes0 := allocCounters()
	busy0, busyOK := machineBusy()
	cpu0 := cpuTime()
	start := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- proc.run(runCtx) }()
	ready := make(chan time.Duration, 1)
	go func() {
		if proc.ready(runCtx) != nil {
			ready <- 0
			return
		}
		ready <- time.Since(start)
	}()

	m := measurement{cfg: cfg, proc: proc, out: out, start: start}
	measureErr := m.wait(ctx, runErr, func(ctx context.Context) (bool, error) {
		return committedCover(ctx, adm, string(n.group), string(n.input), ends)
	})
	end := time.Now()
	res.CPU = cpuTime() - cpu0
	res.OtherCPU = -1
	if busy1, ok := machineBusy(); ok && busyOK {
		res.OtherCPU = max(0, busy1-busy0-res.CPU)
	}
	allocs1, allocBytes1 := allocCounters()
	res.Allocs, res.AllocBytes = allocs1-allocs0, allocBytes1-allocBytes0
	if onEnd != nil {
		onEnd()
	}
	res.PeakHeap = heap.stop()
	res.Elapsed = end.Sub(start)
	res.RPS = float64(cfg.Records) / res.Elapsed.Seconds()
	res.OutputDone, res.CommitDone = m.outputDone, m.commitDone
	res.MaxInFlight, res.MaxPending = m.maxInFlight, m.maxPending
	res.CallbackMean = proc.calls.mean()

	// Stop the processor; if it stopped during the run, wait has already
	// received what its Run returned.
	cancel()
	var stopErr error
	if !m.processorStopped {
		stopErr = <-runErr
	}
	res.Ready = <-ready
	if measureErr != nil {
		return res, measureErr
	}
	if stopErr != nil && !errors.Is(stopErr, context.Canceled) {
		return res, fmt.Errorf("workload: %s processor: %w", cfg.Mode, stopErr)
	}
	if cfg.Task.Check != nil {
		if err := cfg.Task.Check(ctx, info); err != nil {
			return res, fmt.Errorf("workload: %s check: %w", cfg.Mode, err)
		}
	}
	return res, nil
}

// measurement follows one run from the start to its end, reporting
// progress.
type measurement struct {
	cfg   Config
	proc  *processor
	out   *outputCounter
	start time.Time

	outputDone, commitDone  time.Duration
	maxInFlight, maxPending int
	processorStopped        bool // its Run returned (and was received)

	lastDone int
	lastAt   time.Time
}

// wait returns when every output record was read and covered reports the
// committed offsets covering the input, or with an error when ctx ends, the
// processor stops or the output consumer fails.
func (m *measurement) wait(ctx context.Context, runErr <-chan error, covered func(context.Context) (bool, error)) error {
	tick := time.NewTicker(m.cfg.ProgressInterval)
	defer tick.Stop()
	m.lastAt = m.start
	var (
		outputDone = m.out.done
		exited     = m.out.exited
		poll       <-chan time.Time
	)
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("workload: %s run: %d of %d records after %s: %w",
				m.cfg.Mode, m.out.count.Load(), m.cfg.Task.Outputs, time.Since(m.start).Round(time.Millisecond), ctx.Err())
		case err := <-runErr:
			m.processorStopped = true
			if err == nil {
				err = errors.New("stopped without an error")
			}
			return fmt.Errorf("workload: %s processor stopped during the run: %w", m.cfg.Mode, err)
		case <-exited:
			if m.out.err != nil {
				return m.out.err
			}
			exited = nil // it finished: outputDone is closed too
		case <-outputDone:
			m.outputDone = m.out.doneAt.Sub(m.start)
			outputDone = nil
			t := time.NewTicker(commitPollInterval)
			defer t.Stop()
			poll = t.C
		case <-poll:
			ok, err := covered(ctx)
			if err != nil {
				return err
			}
			if ok {
				m.commitDone = time.Since(m.start)
				if m.lastDone < m.cfg.Task.Outputs {
					m.report(time.Now()) // the final count, unless a tick showed it
				}
				return nil
			}
		case now := <-tick.C:
			m.report(now)
		}
	}
}

// report samples the progress and passes it to cfg.Progress.
func (m *measurement) report(now time.Time) {
	running, pending := m.proc.inFlight()
	m.maxInFlight = max(m.maxInFlight, running)
	m.maxPending = max(m.maxPending, pending)
	if m.cfg.Progress == nil {
		return
	}
	done := int(min(m.out.count.Load(), int64(m.cfg.Task.Outputs)))
	p := Progress{
		Mode:     m.cfg.Mode,
		Elapsed:  now.Sub(m.start),
		Done:     done,
		Total:    m.cfg.Task.Outputs,
		InFlight: running,
		Pending:  pending,
	}
	if dt := now.Sub(m.lastAt).Seconds(); dt > 0 {
		p.RPS = float64(done-m.lastDone) / dt
	}
	if p.Elapsed > 0 {
		p.AvgRPS = float64(done) / p.Elapsed.Seconds()
	}
	m.lastDone, m.lastAt = done, now
	m.cfg.Progress(p)
}
