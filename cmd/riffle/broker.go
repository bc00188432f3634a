package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/samber/lo"
)

// runBroker is "riffle broker": it serves the embedded Kafka-protocol
// cluster (package broker) as a process of its own on 127.0.0.1, for local
// development and for the cross-process reliability suite. It prints one
// machine-readable line, "brokers=127.0.0.1:PORT", once the cluster accepts
// connections, and runs until ctx is cancelled (SIGINT or SIGTERM).
//
// By default the cluster keeps everything in memory: stopping the command
// drops every topic and committed offset. With -data-dir it keeps them in a
// directory and finds them there when it starts again (on the same -port);
// -sync-writes also fsyncs each batch. With -tls-cert and -tls-key it
// serves TLS only, and with -sasl-mechanism it requires SASL, with one user
// (the password from -sasl-password-file or RIFFLE_SASL_PASSWORD).
func runBroker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runBrokerEnv(ctx, args, stdout, stderr, os.Getenv)
}

// runBrokerEnv is runBroker reading the environment with getenv.
func runBrokerEnv(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("riffle broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 9092, "port to listen on, on 127.0.0.1 only; 0 picks a free port")
	partitions := fs.Int("partitions", kafka.DefaultPartitions, "partition count of topics the broker creates (auto-created and -topics)")
	topics := fs.String("topics", "", "comma-separated topics to create before printing the address")
	dataDir := fs.String("data-dir", "", "keep topics, records and committed offsets in this directory, and load them from it at start (default: in memory, lost on exit)")
	syncWrites := fs.Bool("sync-writes", false, "with -data-dir, fsync every batch before acknowledging it")
	security := addServerFlags(fs)
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
	if *syncWrites && *dataDir == "" {
		fmt.Fprintln(stderr, "riffle broker: -sync-writes needs -data-dir")
		return errUsage
	}
	secured, err := security.clusterOptions(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "riffle broker: %v\n", err)
		return errUsage
	}
	opts := append([]broker.Option{broker.WithPartitions(*partitions)}, secured...)
	if *dataDir != "" {
		opts = append(opts, broker.WithDataDir(*dataDir))
	}
	if *syncWrites {
		opts = append(opts, broker.WithSyncWrites())
	}
	if *port != 0 {
		opts = append(opts, broker.WithPort(*port))
	}
	if *topics != "" {
		trimmed := lo.Map(strings.Split(*topics, ","), func(t string, _ int) string { return strings.TrimSpace(t) })
		names := lo.Compact(trimmed) // without the empty names
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
	fmt.Fprintf(stderr, "riffle broker: serving %d-partition topics on %s (%s); stop with Ctrl-C\n", c.Partitions(), strings.Join(c.Brokers(), ","), describeBroker(c.Settings(), *dataDir, *syncWrites))
	<-ctx.Done()
	return nil
}

// describeBroker says how the broker keeps its data and whom it lets in.
func describeBroker(s kafka.Settings, dataDir string, syncWrites bool) string {
	parts := []string{"in memory"}
	if dataDir != "" {
		parts[0] = "data in " + dataDir
		if syncWrites {
			parts[0] += ", synced per batch"
		}
	}
	if s.Sarama.Net.TLS.Enable {
		parts = append(parts, "TLS")
	}
	if sasl := s.Sarama.Net.SASL; sasl.Enable {
		parts = append(parts, fmt.Sprintf("SASL %s as %q", sasl.Mechanism, sasl.User))
	}
	return strings.Join(parts, ", ")
}
