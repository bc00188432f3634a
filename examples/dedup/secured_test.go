package main

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/clusterflags"
	"github.com/riffle-streams/riffle/kafka"
)

// The demo reaches a cluster secured with TLS and SCRAM through its flags,
// and with a wrong password fails with ErrAuthenticationFailed, without
// showing the password.
func TestSecuredFlags(t *testing.T) {
	const secret, wrong = "Demo-Secret-Ibis-31", "Demo-Wrong-Ibis-13"
	dir := t.TempDir()
	certFile, keyFile, err := clusterflags.WriteSelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := broker.Start(
		broker.WithClusterTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}),
		broker.WithSASL(sarama.SASLTypeSCRAMSHA512, "demo", secret),
		broker.WithPartitions(2),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	pwFile := filepath.Join(dir, "pw")
	args := func(password string) []string {
		if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"-brokers", c.Brokers()[0], "-tls-ca", certFile, "-sasl-mechanism", string(sarama.SASLTypeSCRAMSHA512),
			"-sasl-user", "demo", "-sasl-password-file", pwFile, "-partitions", "2",
			"-records", "1000", "-latency", "0", "-workers", "16", "-progress", "0"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, args(secret), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "verdict: OK") {
		t.Errorf("no OK verdict:\n%s", out.String())
	}

	out.Reset()
	began := time.Now()
	err = run(ctx, args(wrong), &out)
	if !errors.Is(err, kafka.ErrAuthenticationFailed) {
		t.Errorf("with a wrong password: %v, want ErrAuthenticationFailed", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("with a wrong password: failed after %s", took)
	}
	for _, s := range []string{out.String(), err.Error()} {
		if strings.Contains(s, wrong) || strings.Contains(s, secret) {
			t.Errorf("a password shows: %s", s)
		}
	}

	if _, err := parse([]string{"-tls"}, new(strings.Builder)); err == nil {
		t.Error("-tls without -brokers accepted")
	}
}
