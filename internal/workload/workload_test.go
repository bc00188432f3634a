package workload_test

import (
	"context"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/internal/workload"
)

// A tiny run of each mode on the embedded broker counts every record end to
// end: every output record read and the input committed; with goka's
// producer and with the franz-go one (the benchmark's -sync-producer and
// -async-producer).
func TestRunCountsEveryRecord(t *testing.T) {
	s := clustertest.Start(t, broker.WithPartitions(4)).Settings()
	tests := []struct {
		mode     workload.Mode
		latency  time.Duration
		producer string // "": the mode's default (sync goka's, async franz-go's)
	}{
		{workload.Sync, 0, ""},
		{workload.Async, 0, ""},
		{workload.Sync, time.Millisecond, ""},
		{workload.Async, time.Millisecond, ""},
		{workload.Sync, 0, "kgo"},
		{workload.Async, time.Millisecond, "sarama"},
	}
	for _, tt := range tests {
		name := tt.mode.String() + "-" + tt.latency.String()
		var producer goka.ProducerBuilder
		switch tt.producer {
		case "kgo":
			producer = s.KgoProducerBuilder()
		case "sarama":
			producer = s.ProducerBuilder()
		}
		if tt.producer != "" {
			name += "-" + tt.producer
		}
		t.Run(name, func(t *testing.T) {
			const records, keys = 500, 50
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var progress int
			res, err := workload.Run(ctx, workload.Config{
				Settings: s,
				Mode:     tt.mode,
				Latency:  tt.latency,
				Records:  records,
				Keys:     keys,
				Workers:  16,
				Producer: producer,
				Progress: func(p workload.Progress) {
					progress++
					if p.Total != records || p.Done > records || p.Mode != tt.mode {
						t.Errorf("progress %+v", p)
					}
				},
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Records != records || res.Mode != tt.mode || res.Latency != tt.latency {
				t.Errorf("result %+v", res)
			}
			if res.Elapsed <= 0 || res.RPS <= 0 || res.CommitDone < res.OutputDone || res.Elapsed < res.CommitDone {
				t.Errorf("times: elapsed %s, output %s, commit %s, rps %.0f", res.Elapsed, res.OutputDone, res.CommitDone, res.RPS)
			}
			if res.PeakHeap == 0 {
				t.Errorf("no heap sample")
			}
			if progress == 0 {
				t.Errorf("no progress report")
			}
			t.Logf("%s %s: %.0f records/s, ready %s, output %s, committed %s, cpu %s",
				tt.mode, tt.latency, res.RPS, res.Ready, res.OutputDone, res.CommitDone, res.CPU)
		})
	}
}

func TestRunRejectsInvalidConfig(t *testing.T) {
	_, err := workload.Run(context.Background(), workload.Config{Mode: workload.Async})
	if err == nil {
		t.Fatal("Run accepted a config without records")
	}
}
