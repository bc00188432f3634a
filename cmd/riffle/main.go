// Command riffle is riffle's command-line tool. Subcommands:
//
//	riffle bench [flags]   the sync-vs-async latency sweep on the embedded broker
//	                       (-workload dedup: the windowed-dedup reference workload)
//	riffle broker [flags]  the embedded Kafka-protocol broker on 127.0.0.1 until
//	                       SIGINT or SIGTERM (-data-dir, TLS and SASL)
//
// Run "riffle <subcommand> -h" for a subcommand's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name; it writes results to stdout and diagnostics to stderr.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands; add new ones here.
func commands() []command {
	return []command{
		{name: "bench", summary: "sync-vs-async latency sweep on the embedded broker (-workload dedup: the reference workload)", run: runBench},
		{name: "broker", summary: "embedded Kafka-protocol broker on 127.0.0.1 until SIGINT/SIGTERM", run: runBroker},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "riffle %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "riffle: unknown subcommand %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errUsage is returned by subcommands for bad flags; their flag set has
// printed the problem already.
var errUsage = errors.New("usage error")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: riffle <subcommand> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "subcommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
}
