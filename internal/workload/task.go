package workload

import (
	"context"
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/kafka"
)

// Task is what a run processes: its input, its goka callback and how many
// output records it ends with. Config.Task nil is the counter workload
// (Counter): read the key's count, a remote call of Config.Latency, write
// count+1, emit the input. riffle bench makes one of the windowed-dedup
// reference workload too (package examples/dedup/dedup).
type Task struct {
	// Record returns the key and value of input record i (0 <= i <
	// Config.Records). Called before the clock starts.
	Record func(i int) (key, value []byte)
	// Outputs is the number of output records the run ends with: the clock
	// stops when that many were read (and the input was committed).
	Outputs int
	// Callback builds the group's callback for one run. It is called once
	// per run, before the processor is built, with the run's names and the
	// latency of its remote call.
	Callback func(r RunInfo) (goka.ProcessCallback, error)
	// Persist is the codec of the group table; nil: the group has none.
	Persist goka.Codec
	// Check, if set, is called after the run, with the processor stopped
	// and the topics still there (before they are deleted). Its error is
	// Run's.
	Check func(ctx context.Context, r RunInfo) error
}

// RunInfo describes one run to a Task.
type RunInfo struct {
	Name     string // the run's unique base name (topics and group derive from it)
	Mode     Mode
	Latency  time.Duration // Config.Latency
	Input    goka.Stream
	Output   goka.Stream
	Settings kafka.Settings // with the run's partitions
}

// Counter is the counter workload's Task for records records over keys keys:
// record i has key "key-<i mod keys>" and value "value-<i>", and every record
// is emitted once.
func Counter(records, keys int) *Task {
	keyBytes := make([][]byte, keys)
	for k := range keyBytes {
		keyBytes[k] = []byte("key-" + strconv.Itoa(k))
	}
	return &Task{
		Record: func(i int) ([]byte, []byte) {
			return keyBytes[i%keys], []byte("value-" + strconv.Itoa(i))
		},
		Outputs: records,
		Callback: func(r RunInfo) (goka.ProcessCallback, error) {
			return callback(r.Latency, r.Output), nil
		},
		Persist: new(codec.Int64),
	}
}
