//go:build reliability

package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/logcapture"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// bins holds the binaries built once by TestMain.
var bins struct {
	riffle string // riffle, for "riffle broker"
	worker string // reliability/worker, built with -race
}

// short reports whether the suite runs its short version: RIFFLE_RELIABILITY=short
// or go test -short.
func short() bool { return testing.Short() || os.Getenv("RIFFLE_RELIABILITY") == "short" }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "riffle-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.riffle = filepath.Join(dir, "riffle")
	bins.worker = filepath.Join(dir, "worker")
	build := func(args ...string) {
		cmd := exec.Command("go", append([]string{"build"}, args...)...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %v: %v\n%s", args, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	build("-o", bins.riffle, "./cmd/riffle")
	build("-race", "-o", bins.worker, "./reliability/worker")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cluster is a "riffle broker" process and clients of the test process.
type cluster struct {
	settings  kafka.Settings
	client    *kgo.Client
	adm       *kadm.Client
	brokerLog *logcapture.Log // what the broker process wrote on stderr
}

// startBroker runs "riffle broker" on a free 127.0.0.1 port and returns
// once it printed its address.
func startBroker(t *testing.T, partitions int, topics ...string) *cluster {
	t.Helper()
	cmd := exec.Command(bins.riffle, "broker", "-port", "0",
		"-partitions", fmt.Sprint(partitions), "-topics", strings.Join(topics, ","))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &logcapture.Log{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("riffle broker: %v\n%s", err, stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("riffle broker printed no address: %v\n%s", err, stderr.String())
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "brokers=")
	if !ok || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("riffle broker printed %q, want brokers=127.0.0.1:PORT", line)
	}
	c := connect(t, addr, partitions)
	c.brokerLog = stderr
	return c
}

// connect returns the clients of the test process for the "riffle broker"
// at addr, closed when t ends.
func connect(t *testing.T, addr string, partitions int) *cluster {
	t.Helper()
	s, err := kafka.Remote([]string{addr}, kafka.WithPartitions(partitions))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(s.KgoOptions(), kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &cluster{settings: s, client: cl, adm: kadm.NewClient(cl)}
}

// createTopic creates topic with the cluster's partition count and the
// given topic configs (for example max.message.bytes), before any worker
// ensures it: "riffle broker -topics" creates topics with the defaults.
func (c *cluster) createTopic(t *testing.T, topic string, configs map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cfg := map[string]*string{}
	for k, v := range configs {
		cfg[k] = &v
	}
	resp, err := c.adm.CreateTopic(ctx, int32(c.settings.Partitions), 1, cfg, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s with %v: %v", topic, configs, err)
	}
}

// worker is one processor process; restart replaces a killed one.
type worker struct {
	t    *testing.T
	id   string
	args []string
	logs string // directory of the log files

	mu struct {
		sync.Mutex
		cmd      *exec.Cmd
		done     chan struct{} // closed when the current process exited
		err      error         // its exit error, once done
		runs     int
		files    []string
		stopping bool // a stop is in progress: an exit is not a failure
	}
}

// startWorker starts a worker process of the group with the given extra
// flags; it is stopped (SIGTERM) at cleanup if still running.
func (c *cluster) startWorker(t *testing.T, id string, args ...string) *worker {
	t.Helper()
	w := &worker{t: t, id: id, logs: t.TempDir()}
	w.args = append([]string{"-brokers", strings.Join(c.settings.Brokers, ","), "-id", id,
		"-partitions", fmt.Sprint(c.settings.Partitions)}, args...)
	w.start()
	t.Cleanup(func() {
		w.stop(syscall.SIGTERM, 60*time.Second)
		w.checkLogs()
	})
	return w
}

func (w *worker) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.runs++
	name := filepath.Join(w.logs, fmt.Sprintf("%s.%d.log", w.id, w.mu.runs))
	f, err := os.Create(name)
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(bins.worker, w.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		w.t.Fatal(err)
	}
	done := make(chan struct{})
	w.mu.cmd, w.mu.done, w.mu.err, w.mu.stopping = cmd, done, nil, false
	w.mu.files = append(w.mu.files, name)
	go func() {
		err := cmd.Wait()
		f.Close()
		w.mu.Lock()
		w.mu.err = err
		w.mu.Unlock()
		close(done)
	}()
}

// stop signals the running process and waits for it to exit. It returns
// the exit error, or nil if no process was running.
func (w *worker) stop(sig syscall.Signal, timeout time.Duration) error {
	w.mu.Lock()
	cmd, done := w.mu.cmd, w.mu.done
	w.mu.stopping = true
	w.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
	default:
		_ = cmd.Process.Signal(sig)
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
			_ = cmd.Process.Kill()
			<-done
			w.t.Errorf("worker %s did not stop within %s of %v", w.id, timeout, sig)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.cmd = nil
	if sig == syscall.SIGKILL {
		return nil
	}
	return w.mu.err
}

// exited reports whether the current process exited on its own, and how.
func (w *worker) exited() (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.cmd == nil || w.mu.stopping {
		return false, nil
	}
	select {
	case <-w.mu.done:
		return true, w.mu.err
	default:
		return false, nil
	}
}

// log returns everything the worker's processes wrote.
func (w *worker) log() string {
	w.mu.Lock()
	files := append([]string(nil), w.mu.files...)
	w.mu.Unlock()
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "--- %s\n%s", filepath.Base(f), data)
	}
	return b.String()
}

// checkLogs fails the test on a data race or a processor error in any of
// the worker's runs.
func (w *worker) checkLogs() {
	l := w.log()
	if strings.Contains(l, "WARNING: DATA RACE") {
		w.t.Errorf("worker %s: data race:\n%s", w.id, tail(l, 8000))
	}
	if strings.Contains(l, "panic:") {
		w.t.Errorf("worker %s: panic:\n%s", w.id, tail(l, 8000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// failIfExited fails the test if a worker process exited on its own (a
// processor error), which none of the scenarios expects.
func failIfExited(t *testing.T, ws ...*worker) {
	t.Helper()
	for _, w := range ws {
		if ok, err := w.exited(); ok {
			t.Fatalf("worker %s exited by itself: %v\n%s", w.id, err, tail(w.log(), 6000))
		}
	}
}

// killer SIGKILLs a random worker every interval and restarts it at once,
// until stop is called. It returns how many kills it made.
type killer struct {
	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
	kills int // written by the killer's goroutine, read after done
}

func startKiller(t *testing.T, seed uint64, every time.Duration, ws []*worker) *killer {
	k := &killer{stopc: make(chan struct{}), done: make(chan struct{})}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	go func() {
		defer close(k.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-k.stopc:
				return
			case <-tick.C:
			}
			w := ws[rng.IntN(len(ws))]
			_ = w.stop(syscall.SIGKILL, 10*time.Second)
			w.start()
			k.kills++
			t.Logf("%s: killed and restarted %s", time.Now().Format("15:04:05.000"), w.id)
		}
	}()
	t.Cleanup(func() { k.stop() })
	return k
}

func (k *killer) stop() int {
	k.once.Do(func() { close(k.stopc) })
	<-k.done
	return k.kills
}

// errTimeout is returned by readToEnd when a topic could not be read to its
// end offsets in time.
var errTimeout = errors.New("timed out reading to the end offsets")

// readToEnd reads every record of topic from the start to its current end
// offsets, in offset order per partition.
func (c *cluster) readToEnd(t *testing.T, topic string, timeout time.Duration) []*kgo.Record {
	t.Helper()
	ends := c.endOffsets(t, topic)
	remaining := 0
	for _, e := range ends {
		if e > 0 {
			remaining++
		}
	}
	if remaining == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(c.settings.KgoOptions(), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var recs []*kgo.Record
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: %v (%d records)", topic, errTimeout, len(recs))
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch %s: %v", topic, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[r.Partition] {
				return
			}
			recs = append(recs, r)
			if r.Offset == ends[r.Partition]-1 {
				remaining--
			}
		})
	}
	return recs
}

func (c *cluster) endOffsets(t *testing.T, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ends, err := c.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

func (c *cluster) committed(t *testing.T, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	offs, err := c.adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out
}

// waitCommitted waits until the group's committed offsets of topic reach
// its end offsets, failing early if a worker exits on its own. It asks the
// broker every 50 ms.
func (c *cluster) waitCommitted(t *testing.T, group, topic string, timeout time.Duration, ws ...*worker) {
	t.Helper()
	ends := c.endOffsets(t, topic)
	await.Every(50*time.Millisecond).UntilNil(t, timeout, "the committed offsets of "+topic, func() error {
		failIfExited(t, ws...)
		got := c.committed(t, group, topic)
		for p, e := range ends {
			if got[p] != e {
				return behind{got: got, want: ends, ws: ws}
			}
		}
		return nil
	})
}

// behind says why a group's committed offsets have not reached the end
// yet. Its message, built only when a wait times out, ends with the tail of
// every worker's log.
type behind struct {
	got, want map[int32]int64
	ws        []*worker
}

func (b behind) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "committed %v, want %v", b.got, b.want)
	for _, w := range b.ws {
		fmt.Fprintf(&sb, "\nworker %s log:\n%s", w.id, tail(w.log(), 4000))
	}
	return sb.String()
}
