package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sarama's go-metrics meters share one process-wide ticker
		// goroutine that cannot be stopped. (riffle's own packages use
		// internal/leakcheck, which an example cannot import.)
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	)
}

// The program runs on the embedded broker and prints every customer's
// count and the two groups the topology compiled to.
func TestShop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	const want = `12 purchases, counted per customer (topic customer-counts):
  alice  4
  bob    3
  carol  3
  dave   2
goka groups:
  shop-purchases: reads purchases, writes shop-purchases-per-customer-repartition, async on pool customer-service
  shop-purchases-per-customer: reads shop-purchases-per-customer-repartition, writes customer-counts
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// The README's fluent-builder snippet is the program's excerpt, line for
// line, so that what the README shows runs.
func TestREADMEShowsTheProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, excerpt, ok := strings.Cut(string(src), "// README.md shows the lines from here...\n")
	if ok {
		excerpt, _, ok = strings.Cut(excerpt, "\t// ...to here.\n")
	}
	if !ok {
		t.Fatal("main.go has no README excerpt markers")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(excerpt, "\n"), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	program := strings.Join(lines, "\n")

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Writing a pipeline with the fluent builder\n")
	if ok {
		_, section, ok = strings.Cut(section, "```go\n")
	}
	var snippet string
	if ok {
		snippet, _, ok = strings.Cut(section, "\n```")
	}
	if !ok {
		t.Fatal("README.md has no go block under \"Writing a pipeline with the fluent builder\"")
	}
	if snippet != program {
		t.Errorf("README.md's snippet:\n%s\n\ndiffers from main.go's excerpt:\n%s", snippet, program)
	}
}
