package main

import (
	"fmt"
	"html"
	"math"
	"os"
	"strings"
	"time"

	"github.com/riffle-streams/riffle/internal/workload"
	"github.com/samber/lo"
)

// refPoint is one published point of the reference system (Responsive's
// Async Processor for Kafka Streams) on its windowed-dedup app: events/s at
// an injected store latency. Its setup's core count is not published with
// them (not known to us).
type refPoint struct {
	latency           time.Duration
	syncRPS, asyncRPS float64
}

// refPoints are the reference system's published points.
var refPoints = []refPoint{
	{latency: time.Millisecond, syncRPS: 3_500, asyncRPS: 10_500},
	{latency: 2 * time.Millisecond, syncRPS: 1_900, asyncRPS: 10_400},
}

// refAt returns the reference point at latency l, if there is one.
func refAt(l time.Duration) (refPoint, bool) {
	for _, p := range refPoints {
		if p.latency == l {
			return p, true
		}
	}
	return refPoint{}, false
}

// Plot geometry, in SVG user units.
const (
	plotW, plotH                       = 760, 460
	marginL, marginR, marginT, marginB = 70, 200, 60, 60
)

// Colours of the series.
const (
	colSync  = "#d95f02"
	colAsync = "#1b9e77"
)

// writeSVG writes a plot of throughput (log scale) against latency: sync and
// async medians as lines, every run as a faint dot, and for the dedup
// workload the reference system's published points as hollow squares.
// Latencies are spaced evenly (they are the sweep's steps, not a linear
// axis).
func writeSVG(path string, e *env, cfg benchConfig, rows []*row) error {
	if len(rows) == 0 {
		return fmt.Errorf("plot: no rows")
	}
	withRef := cfg.workload == workloadDedup
	lo, hi := math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	for _, r := range rows {
		for _, x := range r.sync {
			see(x.RPS)
		}
		for _, x := range r.async {
			see(x.RPS)
		}
		if p, ok := refAt(r.latency); ok && withRef {
			see(p.syncRPS)
			see(p.asyncRPS)
		}
	}
	if math.IsInf(lo, 0) {
		return fmt.Errorf("plot: nothing to plot")
	}
	decLo, decHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if decHi == decLo {
		decHi++
	}
	iw, ih := float64(plotW-marginL-marginR), float64(plotH-marginT-marginB)
	y := func(v float64) float64 {
		return float64(marginT) + ih*(1-(math.Log10(v)-decLo)/(decHi-decLo))
	}
	x := func(i int) float64 {
		if len(rows) == 1 {
			return float64(marginL) + iw/2
		}
		return float64(marginL) + iw*(0.05+0.9*float64(i)/float64(len(rows)-1))
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH, plotW, plotH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	title := "Counter workload: throughput against remote-call latency"
	if withRef {
		title = "Windowed dedup: throughput against injected store latency"
	}
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", marginL, esc(title))
	fmt.Fprintf(&b, `<text x="%d" y="40" fill="#555">%s</text>`+"\n", marginL, esc(fmt.Sprintf(
		"riffle bench, %s; %d partitions, %d workers, medians of %d runs; %d CPUs (GOMAXPROCS %d)",
		e.started.Format("2006-01-02"), cfg.partitions, cfg.inFlightCap(), cfg.runs, e.cpus, e.gomaxprocs)))

	// Grid and y labels: decades, with 2x and 5x lines between them.
	for d := decLo; d <= decHi; d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, d)
			if d == decHi && m > 1 {
				break
			}
			yy := y(v)
			stroke, label := "#eee", ""
			if m == 1 {
				stroke, label = "#ccc", shortNum(v)
			}
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", marginL, yy, plotW-marginR, yy, stroke)
			if label != "" {
				fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", marginL-6, yy, label)
			}
		}
	}
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">records/s (log scale)</text>`+"\n", float64(marginT)+ih/2)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", marginL, plotH-marginB, plotW-marginR, plotH-marginB)
	for i, r := range rows {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(i), plotH-marginB+18, esc(fmtMS(r.latency)))
	}
	xLabel := "remote-call latency"
	if withRef {
		xLabel = "latency injected into the window store's client"
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", float64(marginL)+iw/2, plotH-marginB+40, esc(xLabel))

	// Every run, faint; then the medians.
	series := []struct {
		name   string
		colour string
		median func(*row) float64
		runs   func(*row) []float64
	}{
		{"plain goka (sync)", colSync, func(r *row) float64 { return r.syncRPS }, func(r *row) []float64 { return rates(r.sync) }},
		{"riffle (async)", colAsync, func(r *row) float64 { return r.asyncRPS }, func(r *row) []float64 { return rates(r.async) }},
	}
	for _, s := range series {
		var pts []string
		for i, r := range rows {
			for _, v := range s.runs(r) {
				if v > 0 {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2" fill="%s" fill-opacity="0.35"/>`+"\n", x(i), y(v), s.colour)
				}
			}
			if v := s.median(r); v > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
			}
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), s.colour)
		for i, r := range rows {
			if v := s.median(r); v > 0 {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s at %s: %s records/s</title></circle>`+"\n",
					x(i), y(v), s.colour, esc(s.name), esc(fmtMS(r.latency)), shortNum(v))
				// The higher median's label goes above its point, the
				// lower one's below, away from each other and from the
				// reference points between them.
				dy := -8.0
				if v < max(r.syncRPS, r.asyncRPS) {
					dy = 16
				}
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="middle">%s</text>`+"\n", x(i), y(v)+dy, s.colour, shortNum(v))
			}
		}
	}
	if withRef {
		for _, ref := range []struct {
			colour string
			v      func(refPoint) float64
		}{{colSync, func(p refPoint) float64 { return p.syncRPS }}, {colAsync, func(p refPoint) float64 { return p.asyncRPS }}} {
			var pts []string
			for i, r := range rows {
				if p, ok := refAt(r.latency); ok {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(ref.v(p))))
					fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="8" height="8" fill="white" stroke="%s" stroke-width="1.5"><title>reference at %s: %s events/s</title></rect>`+"\n",
						x(i)-4, y(ref.v(p))-4, ref.colour, esc(fmtMS(r.latency)), shortNum(ref.v(p)))
				}
			}
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="4 3"/>`+"\n", strings.Join(pts, " "), ref.colour)
			}
		}
	}

	// Legend.
	lx, ly := plotW-marginR+16, marginT+10
	legend := func(colour, text string, dashed, square bool) {
		dash := ""
		if dashed {
			dash = ` stroke-dasharray="4 3"`
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", lx, ly, lx+24, ly, colour, dash)
		if square {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="8" height="8" fill="white" stroke="%s" stroke-width="1.5"/>`+"\n", lx+8, ly-4, colour)
		} else {
			fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="4" fill="%s"/>`+"\n", lx+12, ly, colour)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", lx+30, ly, esc(text))
		ly += 20
	}
	legend(colSync, "plain goka (sync)", false, false)
	legend(colAsync, "riffle (async)", false, false)
	if withRef {
		legend(colSync, "reference, sync", true, true)
		legend(colAsync, "reference, async", true, true)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#555">reference: published points,</text>`+"\n", lx, ly+4)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#555">its core count not known</text>`+"\n", lx, ly+18)
		ly += 36
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="#555">small dots: every run</text>`+"\n", lx, ly+4)
	b.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func rates(rs []workload.Result) []float64 {
	return lo.Map(rs, func(r workload.Result, _ int) float64 { return r.RPS })
}

// shortNum formats a rate as 950, 3.5k, 10.4k, 173k, 1.2M.
func shortNum(v float64) string {
	switch {
	case v >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case v >= 1e5:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

func esc(s string) string { return html.EscapeString(s) }
