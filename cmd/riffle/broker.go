package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/riffle-streams/riffle/broker"
)

// runBroker is "riffle broker": it serves the embedded Kafka-protocol
// cluster (package broker) as a process of its own on 127.0.0.1, for local
// development and for the cross-process reliability suite. It prints one
// machine-readable line, "brokers=127.0.0.1:PORT", once the cluster accepts
// connections, and runs until ctx is cancelled (SIGINT or SIGTERM).
//
// The cluster keeps everything in memory: stopping the command drops every
// topic and committed offset.
func runBroker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("riffle broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 9092, "port to listen on, on 127.0.0.1 only; 0 picks a free port")
	partitions := fs.Int("partitions", broker.DefaultPartitions, "partition count of topics the broker creates (auto-created and -topics)")
	topics := fs.String("topics", "", "comma-separated topics to create before printing the address")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: riffle broker [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs the embedded Kafka-protocol broker on 127.0.0.1 until SIGINT or SIGTERM.")
		fmt.Fprintln(stderr, "Prints \"brokers=127.0.0.1:PORT\" on stdout once it accepts connections.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "riffle broker: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	if *port < 0 || *port > 65535 {
		fmt.Fprintf(stderr, "riffle broker: -port %d out of range 0..65535\n", *port)
		return errUsage
	}
	opts := []broker.ClusterOption{broker.WithPartitions(*partitions)}
	if *port != 0 {
		opts = append(opts, broker.WithPort(*port))
	}
	if *topics != "" {
		var names []string
		for _, t := range strings.Split(*topics, ",") {
			if t = strings.TrimSpace(t); t != "" {
				names = append(names, t)
			}
		}
		opts = append(opts, broker.WithSeedTopics(names...))
	}
	c, err := broker.Start(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := fmt.Fprintf(stdout, "brokers=%s\n", strings.Join(c.Brokers(), ",")); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "riffle broker: serving %d-partition topics on %s; stop with Ctrl-C\n", c.Partitions(), strings.Join(c.Brokers(), ","))
	<-ctx.Done()
	return nil
}
