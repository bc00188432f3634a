package workload

import (
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// heapSampleInterval is how often the heap is sampled during a run.
const heapSampleInterval = 50 * time.Millisecond

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// userHZ is the unit of /proc/stat: clock ticks per second (USER_HZ, 100
// on every Linux architecture Go supports).
const userHZ = 100

// machineBusy returns the CPU time all processes of the machine spent busy
// (user, nice, system, irq, softirq, steal), from /proc/stat, and whether it
// could be read (Linux only).
func machineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		n, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, true
}

// allocCounters returns the process's cumulative heap allocations: objects
// and bytes.
func allocCounters() (objects, bytes uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		objects = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		bytes = s[1].Value.Uint64()
	}
	return objects, bytes
}

// heapMetric is the bytes of heap objects, live or not yet swept.
const heapMetric = "/memory/classes/heap/objects:bytes"

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// heapSampler records the largest heap seen every heapSampleInterval until
// stopped.
type heapSampler struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	peak  uint64 // written by the sampler, read after wg.Wait
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stopc: make(chan struct{}), peak: heapBytes()}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(heapSampleInterval)
		defer tick.Stop()
		for {
			select {
			case <-h.stopc:
				return
			case <-tick.C:
				h.peak = max(h.peak, heapBytes())
			}
		}
	}()
	return h
}

// stop stops the sampler and returns the peak, including a last sample.
func (h *heapSampler) stop() uint64 {
	close(h.stopc)
	h.wg.Wait()
	return max(h.peak, heapBytes())
}
