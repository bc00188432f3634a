// Command demo shows what riffle is for, on an embedded Kafka broker, in
// about ten seconds: the same goka callback run by plain goka and then by
// riffle, with a 2 ms remote call per record.
//
//	go run ./examples/demo          (or: make demo)
//
// The callback reads its key's state, makes a "remote call" of 2 ms, writes
// the state and emits one record. Plain goka runs one record per partition
// at a time, so 4 partitions at 2 ms do at most 2,000 records/s whatever the
// hardware. riffle runs records of different keys concurrently, keeps each
// key's records in order, and commits offsets only behind finished work.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/riffle-streams/riffle/asyncdsl"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/internal/workload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// options are the demo's flags.
type options struct {
	latency      time.Duration
	keys         int
	partitions   int
	workers      int
	syncRecords  int
	asyncRecords int
}

func run(ctx context.Context, args []string, w io.Writer) error {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.DurationVar(&o.latency, "latency", 2*time.Millisecond, "latency of the remote call in the callback")
	fs.IntVar(&o.keys, "keys", 1000, "distinct keys")
	fs.IntVar(&o.partitions, "partitions", 4, "partitions of the topics")
	fs.IntVar(&o.workers, "workers", asyncdsl.DefaultWorkers, "riffle's workers (records in flight at most)")
	fs.IntVar(&o.syncRecords, "sync-records", 6000, "records for plain goka")
	fs.IntVar(&o.asyncRecords, "async-records", 150_000, "records for riffle")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cluster, err := broker.Start(broker.WithPartitions(o.partitions))
	if err != nil {
		return err
	}
	defer cluster.Close()

	syncCap := float64(o.partitions) / o.latency.Seconds()
	fmt.Fprintf(w, "riffle demo: an embedded Kafka broker (in this process), %d partitions, %d keys.\n", o.partitions, o.keys)
	fmt.Fprintf(w, "The goka callback reads the key's state, calls a remote service (%s), writes the state and emits a record.\n", o.latency)
	fmt.Fprintf(w, "Plain goka runs one record per partition at a time: at most %d / %s = %s records/s.\n", o.partitions, o.latency, thousands(syncCap))
	fmt.Fprintf(w, "riffle runs the same callback, unchanged, on %d workers: one record per key at a time, in order per key.\n", o.workers)
	fmt.Fprintf(w, "A run counts until the last output record is acknowledged and the offsets are committed.\n")

	runs := []struct {
		title   string
		mode    workload.Mode
		records int
	}{
		{"plain goka (sync)", workload.Sync, o.syncRecords},
		{"riffle (async)", workload.Async, o.asyncRecords},
	}
	results := make([]workload.Result, 0, len(runs))
	for _, r := range runs {
		fmt.Fprintf(w, "\n%s: %s records\n", r.title, thousands(float64(r.records)))
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		res, err := workload.Run(ctx, workload.Config{
			Settings:         cluster.Settings(),
			Mode:             r.mode,
			Latency:          o.latency,
			Records:          r.records,
			Keys:             o.keys,
			Partitions:       o.partitions,
			Workers:          o.workers,
			Name:             "demo",
			ProgressInterval: 500 * time.Millisecond,
			Progress:         func(p workload.Progress) { printProgress(w, p) },
		})
		cancel()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  done: %s records in %.2f s = %s records/s\n", thousands(float64(res.Records)), res.Elapsed.Seconds(), thousands(res.RPS))
		results = append(results, res)
	}

	syncRes, asyncRes := results[0], results[1]
	fmt.Fprintln(w)
	fmt.Fprintf(w, "plain goka: %8s records/s\n", thousands(syncRes.RPS))
	fmt.Fprintf(w, "riffle:     %8s records/s   %.0fx plain goka, same callback, same broker\n",
		thousands(asyncRes.RPS), asyncRes.RPS/syncRes.RPS)
	return nil
}

// printProgress writes one progress line.
func printProgress(w io.Writer, p workload.Progress) {
	const width = 20
	filled := width * p.Done / max(1, p.Total)
	fmt.Fprintf(w, "  %5.1f s [%s%s] %7s/%s records %8s records/s  in flight %3d\n",
		p.Elapsed.Seconds(), strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		thousands(float64(p.Done)), thousands(float64(p.Total)), thousands(p.RPS), p.InFlight)
}

// thousands formats x rounded, with commas between thousands.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
