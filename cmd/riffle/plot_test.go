package main

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/workload"
)

// The plot is well-formed SVG with both series and, for dedup, the
// reference points.
func TestWriteSVG(t *testing.T) {
	var rows []*row
	for i, l := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond} {
		r := &row{latency: l, keys: 1000}
		for run := range 3 {
			r.sync = append(r.sync, workload.Result{RPS: 150_000 / float64(1+10*i) * (1 + float64(run)/100)})
			r.async = append(r.async, workload.Result{RPS: 90_000 - float64(10_000*i+run)})
		}
		r.summarize()
		rows = append(rows, r)
	}
	path := filepath.Join(t.TempDir(), "plot.svg")
	cfg := benchConfig{workload: workloadDedup, partitions: 4, runs: 3}
	if err := writeSVG(path, &env{cpus: 2, gomaxprocs: 2, started: time.Now()}, cfg, rows); err != nil {
		t.Fatalf("writeSVG: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(b)))
	elems := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			elems[se.Name.Local]++
		}
	}
	// Two median lines and two reference lines; 4 reference squares plus 2
	// in the legend.
	if elems["polyline"] != 4 || elems["rect"] != 1+4+2 {
		t.Errorf("elements %v", elems)
	}
	for _, want := range []string{"riffle (async)", "plain goka (sync)", "reference, async", "log scale", "2 CPUs", "10.5k"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("plot lacks %q", want)
		}
	}
}

func TestShortNum(t *testing.T) {
	for v, want := range map[float64]string{950: "950", 3500: "3.5k", 1000: "1k", 10_400: "10.4k", 172_501: "173k", 1_200_000: "1.2M"} {
		if got := shortNum(v); got != want {
			t.Errorf("shortNum(%v) = %q, want %q", v, got, want)
		}
	}
}
