//go:build jaeger

// The Jaeger integration test: `make jaeger-test` (it needs the tag
// "jaeger", and builds Jaeger under bin/ if it is missing).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestJaeger starts a real Jaeger on free 127.0.0.1 ports, runs the
// example's pipeline exporting to it over OTLP/HTTP, and checks through
// Jaeger's query API that the slow order's trace has the expected tree:
// producer → process (waits, one client span per attempt, write-back →
// send) → the downstream group's process.
func TestJaeger(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := os.Getenv("RIFFLE_JAEGER_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "jaeger")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Logf("building Jaeger into %s (a few minutes on a cold cache)", bin)
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", bin, "github.com/jaegertracing/jaeger/cmd/jaeger")
		cmd.Dir = filepath.Join(root, "tools", "jaeger")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building Jaeger: %v\n%s", err, out)
		}
		t.Logf("built Jaeger in %s", time.Since(start).Round(time.Second))
	}

	ports := freePorts(t, 5)
	otlpHTTP, query := ports[1], ports[2]
	cmd := exec.Command(bin, "--config", filepath.Join(root, "tools", "jaeger", "config.yaml"))
	cmd.Env = append(os.Environ(),
		"RIFFLE_JAEGER_OTLP_GRPC="+ports[0], "RIFFLE_JAEGER_OTLP_HTTP="+otlpHTTP,
		"RIFFLE_JAEGER_QUERY_HTTP="+query, "RIFFLE_JAEGER_QUERY_GRPC="+ports[3], "RIFFLE_JAEGER_HEALTH="+ports[4])
	logPath := filepath.Join(t.TempDir(), "jaeger.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("jaeger log:\n%s", b)
			}
		}
	})
	poll(t, time.Minute, "Jaeger to be healthy", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("jaeger exited: %v", err)
		default:
		}
		resp, err := http.Get("http://" + ports[4] + "/status")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	const slow = 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	providers, shutdown, err := otlpProviders(ctx, otlpHTTP)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runPipeline(ctx, pipelineConfig{Orders: 12, SlowOrder: 3, Slow: slow, Latency: 2 * time.Millisecond, Provider: providers})
	if serr := shutdown(context.Background()); serr != nil { // flushes every span
		t.Errorf("exporting: %v", serr)
	}
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}

	// Jaeger's batch and storage are asynchronous: poll until the whole
	// trace is there (the downstream group's process span is the last one
	// to end).
	var tr jaegerTrace
	url := fmt.Sprintf("http://%s/api/traces/%s", query, res.SlowTraceID)
	poll(t, time.Minute, "the slow order's trace in Jaeger", func() bool {
		tr = getTrace(t, url)
		return len(tr.named("process orders-enriched")) == 1 && len(tr.named("write-back")) == 2
	})

	send := tr.one(t, "send orders", nil)
	if send.service != "orders-producer" {
		t.Errorf("producer span of service %q", send.service)
	}
	process := tr.one(t, "process orders", send)
	process.wantTags(t, map[string]any{
		"span.kind": "consumer", "messaging.system": "kafka", "messaging.destination.name": "orders",
		"messaging.consumer.group.name": "enricher", "messaging.kafka.message.key": res.SlowKey,
		"riffle.attempts": 2.0, "riffle.outcome": "done",
	})
	if _, ok := process.tags["messaging.kafka.offset"]; !ok {
		t.Error("no messaging.kafka.offset on the process span")
	}
	if _, ok := process.tags["messaging.destination.partition.id"]; !ok {
		t.Error("no messaging.destination.partition.id on the process span")
	}
	if !slices.Contains(process.events, "attempt failed") || !slices.Contains(process.events, "offset released") {
		t.Errorf("process span events %q", process.events)
	}
	var names []string
	for _, c := range tr.children(process) {
		names = append(names, c.name)
	}
	want := []string{"wait for key", "wait for worker", "inventory.Inventory/Lookup", "inventory.Inventory/Lookup", "write-back"}
	if !slices.Equal(names, want) {
		t.Fatalf("children of the process span: %q, want %q", names, want)
	}
	calls := tr.children(process)[2:4]
	calls[0].wantTags(t, map[string]any{"span.kind": "client", "riffle.attempt": 1.0, "error": true, "rpc.method": "Lookup"})
	calls[1].wantTags(t, map[string]any{"span.kind": "client", "riffle.attempt": 2.0, "rpc.service": "inventory.Inventory"})
	if calls[1].duration < slow {
		t.Errorf("the retried call took %s, want at least %s", calls[1].duration, slow)
	}
	writeBack := tr.children(process)[4]
	emit := tr.one(t, "send orders-enriched", writeBack)
	emit.wantTags(t, map[string]any{"span.kind": "producer"})
	downstream := tr.one(t, "process orders-enriched", emit)
	downstream.wantTags(t, map[string]any{"messaging.consumer.group.name": "auditor", "riffle.outcome": "done"})
	if downstream.service != "orders-auditor" {
		t.Errorf("downstream process span of service %q", downstream.service)
	}
	tr.one(t, "INSERT audit_log", downstream)

	// The service listing of the query API knows all three services.
	resp, err := http.Get(fmt.Sprintf("http://%s/api/traces?service=orders-enricher&limit=100", query))
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Data []json.RawMessage }
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Data) == 0 {
		t.Errorf("traces of orders-enricher: %d, %v", len(list.Data), err)
	}
}

// jaegerTrace is a trace as Jaeger's query API returns it, indexed.
type jaegerTrace struct{ spans []*jaegerSpan }

type jaegerSpan struct {
	id, parent, name, service string
	duration                  time.Duration
	tags                      map[string]any
	events                    []string
	start                     int64
}

func getTrace(t *testing.T, url string) jaegerTrace {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return jaegerTrace{}
	}
	var body struct {
		Data []struct {
			Spans []struct {
				SpanID        string `json:"spanID"`
				OperationName string `json:"operationName"`
				References    []struct {
					RefType string `json:"refType"`
					SpanID  string `json:"spanID"`
				} `json:"references"`
				StartTime int64 `json:"startTime"`
				Duration  int64 `json:"duration"`
				Tags      []struct {
					Key   string `json:"key"`
					Value any    `json:"value"`
				} `json:"tags"`
				Logs []struct {
					Fields []struct {
						Key   string `json:"key"`
						Value any    `json:"value"`
					} `json:"fields"`
				} `json:"logs"`
				ProcessID string `json:"processID"`
			} `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding %s: %v", url, err)
	}
	var tr jaegerTrace
	for _, d := range body.Data {
		for _, s := range d.Spans {
			js := &jaegerSpan{id: s.SpanID, name: s.OperationName, service: d.Processes[s.ProcessID].ServiceName,
				duration: time.Duration(s.Duration) * time.Microsecond, start: s.StartTime, tags: map[string]any{}}
			for _, r := range s.References {
				if r.RefType == "CHILD_OF" {
					js.parent = r.SpanID
				}
			}
			for _, tag := range s.Tags {
				js.tags[tag.Key] = tag.Value
			}
			for _, l := range s.Logs {
				for _, f := range l.Fields {
					if f.Key == "event" {
						js.events = append(js.events, fmt.Sprint(f.Value))
					}
				}
			}
			tr.spans = append(tr.spans, js)
		}
	}
	return tr
}

func (tr jaegerTrace) named(name string) []*jaegerSpan {
	var out []*jaegerSpan
	for _, s := range tr.spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// children returns parent's children, by start time.
func (tr jaegerTrace) children(parent *jaegerSpan) []*jaegerSpan {
	var out []*jaegerSpan
	for _, s := range tr.spans {
		if s.parent == parent.id {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b *jaegerSpan) int { return int(a.start - b.start) })
	return out
}

// one returns the single span named name whose parent is parent (nil: a
// root span).
func (tr jaegerTrace) one(t *testing.T, name string, parent *jaegerSpan) *jaegerSpan {
	t.Helper()
	var found []*jaegerSpan
	for _, s := range tr.named(name) {
		if (parent == nil && s.parent == "") || (parent != nil && s.parent == parent.id) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans %q under %v, want 1", len(found), name, parent)
	}
	return found[0]
}

func (s *jaegerSpan) wantTags(t *testing.T, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got, ok := s.tags[k]; !ok || got != v {
			t.Errorf("span %q: tag %s = %v (%T), want %v (%T)", s.name, k, got, got, v, v)
		}
	}
}

// freePorts returns n distinct 127.0.0.1 addresses that were free a moment
// ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// poll checks cond until it holds or the deadline passes.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}
