package workload

import (
	"errors"
	"fmt"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/kafka"
)

// Mode says how the callback runs.
type Mode int

const (
	// Sync is plain goka: the callback runs on goka's partition goroutine,
	// one record per partition at a time.
	Sync Mode = iota + 1
	// Async is riffle: the same callback wrapped by gokaadapter's Async, run
	// on the executor, one record per key at a time.
	Async
)

func (m Mode) String() string {
	switch m {
	case Sync:
		return "sync"
	case Async:
		return "async"
	default:
		return fmt.Sprintf("Mode(%d)", int(m))
	}
}

// Defaults of Config.
const (
	DefaultKeys             = 1000
	DefaultProgressInterval = 250 * time.Millisecond
	DefaultName             = "workload"
)

// ErrInvalidConfig is wrapped by the errors Run returns for a Config it
// cannot run.
var ErrInvalidConfig = errors.New("workload: invalid config")

// Config describes one run.
type Config struct {
	// Settings reach the cluster (broker.Cluster.Settings for the embedded
	// one). Its Sarama config is what goka's clients use.
	Settings kafka.Settings
	// Mode is Sync or Async.
	Mode Mode
	// Latency is the duration of the callback's remote call: a timer wait
	// that returns early if the record's context is cancelled. 0 skips it.
	Latency time.Duration
	// Records is the number of input records. Required.
	Records int
	// Keys is the number of distinct keys of the counter workload; record i
	// has key i mod Keys. Default DefaultKeys. With a Task, it is only
	// reported in the Result.
	Keys int
	// Task is what the run processes. Default Counter(Records, Keys).
	Task *Task
	// Partitions is the partition count of the input and output topics.
	// Default Settings.Partitions.
	Partitions int
	// Workers sets asyncdsl.WithWorkers in Async mode; 0 keeps the
	// executor's default (asyncdsl.DefaultWorkers).
	Workers int
	// Executor are more executor options in Async mode, applied after
	// Workers.
	Executor []asyncdsl.Option
	// Producer builds the processor's producer. Default: in Sync mode
	// goka's own (Settings.ProducerBuilder, on sarama), as plain goka runs;
	// in Async mode the franz-go one (Settings.KgoProducerBuilder), as
	// riffle recommends. The benchmark's -sync-producer and -async-producer
	// flags set it.
	Producer goka.ProducerBuilder
	// Name prefixes the run's topics and group. Default DefaultName. A
	// random suffix makes them unique per run.
	Name string
	// Progress, if set, is called every ProgressInterval while the run is
	// measured, on a goroutine of Run's.
	Progress func(Progress)
	// ProgressInterval defaults to DefaultProgressInterval.
	ProgressInterval time.Duration
	// Logger is goka's logger for the processor. Default: a logger that
	// drops everything.
	Logger goka.Logger
	// OnStart, if set, is called right before the clock starts (after the
	// input was produced and the processor built); the function it returns,
	// if not nil, right after the clock stops. The benchmark uses it to
	// profile the measured part only.
	OnStart func() (onEnd func())
	// KeepTopics keeps the run's topics and group on the cluster after the
	// run (they are deleted by default).
	KeepTopics bool
}

// Progress is a snapshot of a run, passed to Config.Progress.
type Progress struct {
	Mode    Mode
	Elapsed time.Duration // since the processor's Run was called
	Done    int           // output records read so far
	Total   int           // output records the run ends with (Task.Outputs)
	// RPS is the rate of output records over the last interval; AvgRPS over
	// the whole run so far.
	RPS, AvgRPS float64
	// InFlight is the number of callbacks running: in Sync mode 0 or 1 per
	// partition, in Async mode the executor's running attempts and applies.
	InFlight int
	// Pending is, in Async mode, the records submitted to the executor and
	// not yet released (running, queued, or waiting for the commit
	// watermark); in Sync mode it equals InFlight.
	Pending int
}

func (c Config) withDefaults() (Config, error) {
	if c.Keys == 0 {
		c.Keys = DefaultKeys
	}
	if c.Partitions == 0 {
		c.Partitions = c.Settings.Partitions
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	if c.Logger == nil {
		c.Logger = discardLogger{}
	}
	var problems []error
	if c.Task == nil && c.Records > 0 && c.Keys > 0 {
		c.Task = Counter(c.Records, c.Keys)
	}
	if c.Task != nil && (c.Task.Record == nil || c.Task.Callback == nil || c.Task.Outputs <= 0) {
		problems = append(problems, errors.New("a Task needs Record and Callback, and Outputs must be positive"))
	}
	if c.Mode != Sync && c.Mode != Async {
		problems = append(problems, fmt.Errorf("unknown mode %d", int(c.Mode)))
	}
	if c.Records <= 0 {
		problems = append(problems, fmt.Errorf("records must be positive, got %d", c.Records))
	}
	if c.Keys <= 0 {
		problems = append(problems, fmt.Errorf("keys must be positive, got %d", c.Keys))
	}
	if c.Partitions <= 0 {
		problems = append(problems, fmt.Errorf("partitions must be positive, got %d", c.Partitions))
	}
	if c.Latency < 0 {
		problems = append(problems, fmt.Errorf("latency must not be negative, got %s", c.Latency))
	}
	if c.Workers < 0 {
		problems = append(problems, fmt.Errorf("workers must not be negative, got %d", c.Workers))
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(problems...))
	}
	return c, nil
}

// discardLogger is a goka.Logger that drops everything.
type discardLogger struct{}

func (discardLogger) Print(...any)          {}
func (discardLogger) Println(...any)        {}
func (discardLogger) Printf(string, ...any) {}
