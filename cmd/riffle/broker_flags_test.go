package main

import (
	"errors"
	"flag"
	"testing"

	"github.com/riffle-streams/riffle/clusterflags"
	"github.com/riffle-streams/riffle/internal/clustertest"
	"github.com/riffle-streams/riffle/kafka"
)

// The server flags start a secured embedded broker that the client flags
// reach.
func TestServerFlagsServeWhatClientFlagsReach(t *testing.T) {
	const secret = "Flag-Secret-Heron-55"
	dir := t.TempDir()
	certFile, keyFile, err := clusterflags.WriteSelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := func(k string) string {
		if k == clusterflags.PasswordEnv {
			return secret
		}
		return ""
	}
	sfs := flag.NewFlagSet("server", flag.ContinueOnError)
	server := addServerFlags(sfs)
	if err := sfs.Parse([]string{"-tls-cert", certFile, "-tls-key", keyFile, "-sasl-mechanism", "SCRAM-SHA-256", "-sasl-user", "u"}); err != nil {
		t.Fatal(err)
	}
	copts, err := server.clusterOptions(e)
	if err != nil {
		t.Fatal(err)
	}
	c := clustertest.Start(t, copts...)

	cfs := flag.NewFlagSet("client", flag.ContinueOnError)
	client := clusterflags.AddClient(cfs)
	if err := cfs.Parse([]string{"-tls-ca", certFile, "-sasl-mechanism", "SCRAM-SHA-256", "-sasl-user", "u"}); err != nil {
		t.Fatal(err)
	}
	ropts, err := client.RemoteOptions(e)
	if err != nil {
		t.Fatal(err)
	}
	s, err := kafka.Remote(c.Brokers(), ropts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureTopics(t.Context(), "reached"); err != nil {
		t.Fatal(err)
	}

	if _, err := addServerFlags(flag.NewFlagSet("x", flag.ContinueOnError)).clusterOptions(e); err != nil {
		t.Errorf("no flags: %v", err)
	}
	onlyCert := &serverFlags{sasl: &clusterflags.SASL{}, tlsCert: certFile}
	if _, err := onlyCert.clusterOptions(e); !errors.Is(err, clusterflags.ErrFlags) {
		t.Errorf("-tls-cert without -tls-key: %v", err)
	}
}
