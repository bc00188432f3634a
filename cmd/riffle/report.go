package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riffle-streams/riffle/internal/workload"
	"github.com/samber/lo"
)

// row is the result of one latency: every run of both modes and their
// summary.
type row struct {
	latency     time.Duration
	keys        int // distinct keys of the runs (the fewest, for dedup: unique ids)
	sync, async []workload.Result

	syncRPS, asyncRPS     float64 // medians
	syncCPU, asyncCPU     float64 // median CPU seconds per 1,000 records
	syncHeap, asyncHeap   uint64  // largest peak heap of the runs
	syncRecs, asyncRecs   int
	speedup               float64
	bound, pctBound       float64
	boundBy               string // which term of min(C, K/L, P/L) binds
	floor                 string // the floor at this latency, if any
	floorMet, hasFloor    bool
	aimMet                bool    // async >= 70 % of the bound
	syncInFlight, asyncIF int     // largest in-flight seen
	otherCores            float64 // most cores other processes used in a kept run
	syncCall, asyncCall   float64 // median of the runs' mean callback time, ms
	syncAllocs, asyncAll  float64 // median allocations per record

	// timerRPS and timerMean are the timer ceiling at this latency (see
	// timerCeiling): P goroutines doing nothing but waiting L on a timer.
	// Zero at 0 ms.
	timerRPS  float64
	timerMean time.Duration
}

// pctTimer is async's median as a share of the timer ceiling, 0 without one.
func (r *row) pctTimer() float64 {
	if r.timerRPS == 0 {
		return 0
	}
	return 100 * r.asyncRPS / r.timerRPS
}

// The floors and the aim riffle set itself (docs/benchmarks.md, "Floors
// and aim").
const (
	aimPctOfBound = 70.0
	floorAt0      = 0.9 // async >= 0.9 x sync at 0 ms
)

func floorFor(l time.Duration) (speedup float64, ok bool) {
	switch l {
	case time.Millisecond:
		return 10, true
	case 2 * time.Millisecond:
		return 15, true
	}
	return 0, false
}

func (r *row) summarize() {
	for _, x := range append(append([]workload.Result(nil), r.sync...), r.async...) {
		r.otherCores = max(r.otherCores, x.OtherCores())
	}
	r.syncRPS, r.syncCPU, r.syncHeap, r.syncRecs, r.syncInFlight = summarize(r.sync)
	r.asyncRPS, r.asyncCPU, r.asyncHeap, r.asyncRecs, r.asyncIF = summarize(r.async)
	r.syncCall, r.syncAllocs = medianCallAllocs(r.sync)
	r.asyncCall, r.asyncAll = medianCallAllocs(r.async)
	if r.syncRPS > 0 {
		r.speedup = r.asyncRPS / r.syncRPS
	}
}

func summarize(rs []workload.Result) (rps, cpu float64, heap uint64, records, inFlight int) {
	if len(rs) == 0 {
		return 0, 0, 0, 0, 0
	}
	var rpss, cpus []float64
	for _, r := range rs {
		rpss = append(rpss, r.RPS)
		cpus = append(cpus, r.CPUPer1k().Seconds())
		heap = max(heap, r.PeakHeap)
		inFlight = max(inFlight, r.MaxInFlight)
	}
	return median(rpss), median(cpus), heap, rs[0].Records, inFlight
}

func medianCallAllocs(rs []workload.Result) (callMS, allocs float64) {
	if len(rs) == 0 {
		return 0, 0
	}
	var calls, as []float64
	for _, r := range rs {
		calls = append(calls, float64(r.CallbackMean)/float64(time.Millisecond))
		as = append(as, r.AllocsPerRecord())
	}
	return median(calls), median(as)
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// computeBound sets the physical bound min(C, K/L, P/L) and the verdicts.
func (r *row) computeBound(c float64, cfg benchConfig) {
	r.bound, r.boundBy = c, "C"
	keys := cfg.keys
	if r.keys > 0 {
		keys = r.keys
	}
	if l := r.latency.Seconds(); l > 0 {
		if k := float64(keys) / l; k < r.bound {
			r.bound, r.boundBy = k, "K/L"
		}
		if p := float64(cfg.inFlightCap()) / l; p < r.bound {
			r.bound, r.boundBy = p, "P/L"
		}
	}
	if r.bound > 0 {
		r.pctBound = 100 * r.asyncRPS / r.bound
	}
	r.aimMet = r.pctBound >= aimPctOfBound
	if r.latency == 0 {
		r.hasFloor = true
		r.floor = fmt.Sprintf("async >= %.1fx sync", floorAt0)
		r.floorMet = r.asyncRPS >= floorAt0*r.syncRPS
	} else if f, ok := floorFor(r.latency); ok {
		r.hasFloor = true
		r.floor = fmt.Sprintf("speedup >= %gx", f)
		r.floorMet = r.speedup >= f
	}
}

func (r *row) verdict() string {
	if !r.hasFloor {
		return "-"
	}
	if r.floorMet {
		return "met (" + r.floor + ")"
	}
	return "MISSED (" + r.floor + ")"
}

func fmtMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + " ms"
}

func fmtMiB(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// printTable writes the human-readable results.
func printTable(w io.Writer, e *env, cfg benchConfig, c float64, rows []*row) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, e.header())
	fmt.Fprintf(w, "command: %s\n", e.command)
	fmt.Fprintf(w, "sweep took %s; load average after %s\n", e.took.Round(time.Second), e.loadAfter)
	fmt.Fprintf(w, "bound = min(C, K/L, P/L) with C = %.0f records/s (sync, 0 ms, this run), K = %s, P = %d workers\n",
		c, boundKeys(cfg, rows), cfg.inFlightCap())
	fmt.Fprintf(w, "producers: sync %s, async %s; medians of %d runs per mode; CPU is the whole process (processor, broker, consumer); heap is the largest peak\n\n",
		cfg.syncProducer, cfg.asyncProducer, cfg.runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "latency\tsync rec/s\tasync rec/s\tspeedup\tbound rec/s\t% of bound\tCPU s/1k sync\tasync\tpeak heap sync\tasync\trecords sync\tasync\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%sx\t%.0f (%s)\t%.0f%%\t%.3f\t%.3f\t%s\t%s\t%d\t%d\t\n",
			fmtMS(r.latency), r.syncRPS, r.asyncRPS, fmtSpeedup(r.speedup), r.bound, r.boundBy, r.pctBound,
			r.syncCPU, r.asyncCPU, fmtMiB(r.syncHeap), fmtMiB(r.asyncHeap), r.syncRecs, r.asyncRecs)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	if cfg.workload == workloadDedup {
		fmt.Fprintln(w, "against the reference system's published points (its core count is not known to us):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "latency\tsync rec/s\tasync rec/s\tspeedup\tref sync\tref async\tref speedup\tasync / ref async\t")
		for _, r := range rows {
			if p, ok := refAt(r.latency); ok {
				fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1fx\t%.0f\t%.0f\t%.1fx\t%.1fx\t\n", fmtMS(r.latency), r.syncRPS, r.asyncRPS, r.speedup,
					p.syncRPS, p.asyncRPS, p.asyncRPS/p.syncRPS, r.asyncRPS/p.asyncRPS)
			}
		}
		_ = tw.Flush()
		fmt.Fprintln(w)
	}
	for _, r := range rows {
		aim := "met"
		if !r.aimMet {
			aim = "MISSED"
		}
		fmt.Fprintf(w, "%6s: floor %s; aim (>= %.0f%% of bound) %s; other processes used up to %.2f cores\n",
			fmtMS(r.latency), r.verdict(), aimPctOfBound, aim, r.otherCores)
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		if r.timerRPS > 0 {
			fmt.Fprintf(w, "%6s: timer ceiling (%d goroutines waiting on a timer, nothing else) %.0f records/s, a wait took %.2f ms; async is %.0f%% of it\n",
				fmtMS(r.latency), cfg.inFlightCap(), r.timerRPS, float64(r.timerMean)/float64(time.Millisecond), r.pctTimer())
		}
	}
	fmt.Fprintln(w)
}

// jsonRow is the machine-readable line printed per latency, last.
type jsonRow struct {
	LatencyMS        float64   `json:"latency_ms"`
	SyncRPS          float64   `json:"sync_rps"`
	AsyncRPS         float64   `json:"async_rps"`
	Speedup          float64   `json:"speedup"`
	BoundRPS         float64   `json:"bound_rps"`
	BoundBy          string    `json:"bound_by"`
	PctOfBound       float64   `json:"pct_of_bound"`
	SyncCPUPer1k     float64   `json:"sync_cpu_s_per_1k"`
	AsyncCPUPer1k    float64   `json:"async_cpu_s_per_1k"`
	SyncPeakHeapMiB  float64   `json:"sync_peak_heap_mib"`
	AsyncPeakHeapMiB float64   `json:"async_peak_heap_mib"`
	SyncRecords      int       `json:"sync_records"`
	AsyncRecords     int       `json:"async_records"`
	SyncRPSRuns      []float64 `json:"sync_rps_runs"`
	AsyncRPSRuns     []float64 `json:"async_rps_runs"`
	Runs             int       `json:"runs"`
	Keys             int       `json:"keys"`
	Partitions       int       `json:"partitions"`
	Workers          int       `json:"workers"`
	Floor            string    `json:"floor,omitempty"`
	FloorMet         *bool     `json:"floor_met,omitempty"`
	AimMet           bool      `json:"aim_met"`
	SyncCallbackMS   float64   `json:"sync_callback_ms"`
	AsyncCallbackMS  float64   `json:"async_callback_ms"`
	SyncAllocs       float64   `json:"sync_allocs_per_record"`
	AsyncAllocs      float64   `json:"async_allocs_per_record"`
	MaxOtherCores    float64   `json:"max_other_cores"`
	Workload         string    `json:"workload"`
	TimerCeilingRPS  float64   `json:"timer_ceiling_rps,omitempty"`
	TimerWaitMS      float64   `json:"timer_wait_ms,omitempty"`
	PctOfTimer       float64   `json:"pct_of_timer_ceiling,omitempty"`
	SyncProducer     string    `json:"sync_producer"`
	AsyncProducer    string    `json:"async_producer"`
	DupRate          *float64  `json:"dup_rate,omitempty"`
}

func printJSON(w io.Writer, cfg benchConfig, rows []*row) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		j := jsonRow{
			LatencyMS:        float64(r.latency) / float64(time.Millisecond),
			SyncRPS:          round(r.syncRPS, 0),
			AsyncRPS:         round(r.asyncRPS, 0),
			Speedup:          round(r.speedup, 2),
			BoundRPS:         round(r.bound, 0),
			BoundBy:          r.boundBy,
			PctOfBound:       round(r.pctBound, 1),
			SyncCPUPer1k:     round(r.syncCPU, 4),
			AsyncCPUPer1k:    round(r.asyncCPU, 4),
			SyncPeakHeapMiB:  round(float64(r.syncHeap)/(1<<20), 1),
			AsyncPeakHeapMiB: round(float64(r.asyncHeap)/(1<<20), 1),
			SyncRecords:      r.syncRecs,
			AsyncRecords:     r.asyncRecs,
			Runs:             cfg.runs,
			Keys:             cmp.Or(r.keys, cfg.keys),
			Workload:         cfg.workload,
			TimerCeilingRPS:  round(r.timerRPS, 0),
			TimerWaitMS:      round(float64(r.timerMean)/float64(time.Millisecond), 3),
			PctOfTimer:       round(r.pctTimer(), 1),
			SyncProducer:     cfg.syncProducer,
			AsyncProducer:    cfg.asyncProducer,
			Partitions:       cfg.partitions,
			Workers:          cfg.inFlightCap(),
			AimMet:           r.aimMet,
			MaxOtherCores:    round(r.otherCores, 2),
			SyncCallbackMS:   round(r.syncCall, 3),
			AsyncCallbackMS:  round(r.asyncCall, 3),
			SyncAllocs:       round(r.syncAllocs, 1),
			AsyncAllocs:      round(r.asyncAll, 1),
		}
		for _, x := range r.sync {
			j.SyncRPSRuns = append(j.SyncRPSRuns, round(x.RPS, 0))
		}
		for _, x := range r.async {
			j.AsyncRPSRuns = append(j.AsyncRPSRuns, round(x.RPS, 0))
		}
		if cfg.workload == workloadDedup {
			d := cfg.dupRate
			j.DupRate = &d
		}
		if r.hasFloor {
			met := r.floorMet
			j.Floor, j.FloorMet = r.floor, &met
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return nil
}

func round(x float64, digits int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return v
}

// writeMarkdown writes the results table to path.
func writeMarkdown(path string, e *env, cfg benchConfig, c float64, rows []*row) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s with `%s` (sweep took %s).\n\n", e.started.Format("2006-01-02"), e.command, e.took.Round(time.Second))
	fmt.Fprintf(&b, "Machine: %d CPUs (GOMAXPROCS %d), %s; load average %s before, %s after.\n\n", e.cpus, e.gomaxprocs, e.goVersion, e.loadBefore, e.loadAfter)
	fmt.Fprintf(&b, "Bound = min(C, K/L, P/L), C = %.0f records/s (sync at 0 ms, this sweep), K = %s, P = %d workers. Producers: sync %s, async %s. Medians of %d runs per mode; CPU is the whole process; heap is the largest peak of the runs.\n\n",
		c, boundKeys(cfg, rows), cfg.inFlightCap(), cfg.syncProducer, cfg.asyncProducer, cfg.runs)
	b.WriteString("| latency | sync rec/s | async rec/s | speedup | bound rec/s | % of bound | CPU s/1k sync | CPU s/1k async | peak heap sync | peak heap async | records sync | records async | floor |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %sx | %.0f (%s) | %.0f%% | %.3f | %.3f | %s | %s | %d | %d | %s |\n",
			fmtMS(r.latency), r.syncRPS, r.asyncRPS, fmtSpeedup(r.speedup), r.bound, r.boundBy, r.pctBound,
			r.syncCPU, r.asyncCPU, fmtMiB(r.syncHeap), fmtMiB(r.asyncHeap), r.syncRecs, r.asyncRecs, r.verdict())
	}
	if cfg.workload == workloadDedup {
		fmt.Fprintf(&b, "\nAgainst the reference system's published points (ours: %d CPUs; the reference's core count is not known to us):\n\n", e.cpus)
		b.WriteString("| latency | sync (goka) rec/s | async (riffle) rec/s | speedup | reference sync | reference async | reference speedup | riffle async / reference async |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range rows {
			if p, ok := refAt(r.latency); ok {
				fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.1fx | %.0f | %.0f | %.1fx | %.1fx |\n", fmtMS(r.latency), r.syncRPS, r.asyncRPS, r.speedup,
					p.syncRPS, p.asyncRPS, p.asyncRPS/p.syncRPS, r.asyncRPS/p.asyncRPS)
			}
		}
	}
	fmt.Fprintf(&b, "\nTimer ceiling: %d goroutines that do nothing but wait L on a Go timer, for %s per latency (see cmd/riffle/timer_ceiling.go):\n\n", cfg.inFlightCap(), timerCeilingRun)
	b.WriteString("| latency | P/L rec/s | timer ceiling rec/s | mean wait | async rec/s | async / ceiling |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		if r.timerRPS > 0 {
			fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.2f ms | %.0f | %.0f%% |\n", fmtMS(r.latency), float64(cfg.inFlightCap())/r.latency.Seconds(),
				r.timerRPS, float64(r.timerMean)/float64(time.Millisecond), r.asyncRPS, r.pctTimer())
		}
	}
	b.WriteString("\nRuns (records/s), and the most cores other processes of the machine kept busy during a run:\n\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "- %s: sync %s; async %s; other processes up to %.2f cores\n", fmtMS(r.latency), runList(r.sync), runList(r.async), r.otherCores)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func runList(rs []workload.Result) string {
	parts := lo.Map(rs, func(r workload.Result, _ int) string { return fmt.Sprintf("%.0f", r.RPS) })
	return strings.Join(parts, ", ")
}

// boundKeys describes K of the bound: the counter workload's keys, or the
// dedup workload's unique ids (the fewest of a run).
func boundKeys(cfg benchConfig, rows []*row) string {
	if cfg.workload != workloadDedup {
		return fmt.Sprintf("%d keys", cfg.keys)
	}
	fewest := lo.Min(lo.FilterMap(rows, func(r *row, _ int) (int, bool) { return r.keys, r.keys > 0 }))
	return fmt.Sprintf("the run's unique ids (at least %d)", fewest)
}

// fmtSpeedup shows two decimals below 10x, where the 0 ms floor (0.9x) is
// decided, and one above.
func fmtSpeedup(x float64) string {
	if x < 10 {
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}
