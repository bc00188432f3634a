package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/clusterflags"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// servedBroker is "riffle broker" running in this process.
type servedBroker struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// serveBroker runs "riffle broker" with args and returns once it printed its
// address.
func serveBroker(t *testing.T, getenv func(string) string, args ...string) *servedBroker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	b := &servedBroker{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := runBrokerEnv(ctx, args, pw, io.Discard, getenv)
		pw.CloseWithError(errors.New("riffle broker returned"))
		b.done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err != nil {
		cancel()
		t.Fatalf("riffle broker %q: %v (%v)", args, err, <-b.done)
	}
	b.addr = strings.TrimSpace(strings.TrimPrefix(line, "brokers="))
	t.Cleanup(func() { b.stop(t) })
	return b
}

// stop cancels the broker and waits for it; it may be called more than once.
func (b *servedBroker) stop(t *testing.T) {
	b.once.Do(func() {
		b.cancel()
		if err := <-b.done; err != nil {
			t.Errorf("riffle broker: %v", err)
		}
	})
}

// "riffle broker" serves TLS and SCRAM from its flags, "riffle bench"
// reaches it through its own, and with -data-dir a restarted broker still
// has the topics.
func TestBrokerSecuredBenchAndRestart(t *testing.T) {
	const secret = "Broker-Secret-Crane-92"
	dir := t.TempDir()
	certFile, keyFile, err := clusterflags.WriteSelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == clusterflags.PasswordEnv {
			return secret
		}
		return ""
	}
	data := filepath.Join(dir, "data")
	serverArgs := []string{"-data-dir", data, "-sync-writes", "-tls-cert", certFile, "-tls-key", keyFile,
		"-sasl-mechanism", "SCRAM-SHA-256", "-sasl-user", "bench", "-topics", "kept"}
	b := serveBroker(t, getenv, append([]string{"-port", "0"}, serverArgs...)...)

	clientArgs := []string{"-brokers", b.addr, "-tls-ca", certFile, "-sasl-mechanism", "SCRAM-SHA-256", "-sasl-user", "bench", "-sasl-password-file", pwFile}
	cfg, err := parseBenchConfig(append([]string{"-latencies", "0", "-runs", "1", "-records-sync", "500", "-records-async", "500", "-keys", "50"}, clientArgs...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, closeCluster, err := benchSettings(cfg, getenv)
	if err != nil {
		t.Fatal(err)
	}
	closeCluster()
	if !s.Sarama.Net.TLS.Enable || s.Sarama.Net.SASL.User != "bench" || s.Sarama.Net.SASL.Password != secret {
		t.Fatalf("bench settings from the flags: %v", s)
	}
	var stdout, stderr strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := runBench(ctx, append([]string{"-latencies", "0", "-runs", "1", "-records-sync", "500", "-records-async", "500", "-keys", "50"}, clientArgs...), &stdout, &stderr); err != nil {
		t.Fatalf("riffle bench: %v\n%s", err, stderr.String())
	}
	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(out, secret) {
			t.Errorf("riffle bench shows the password:\n%s", out)
		}
	}

	_, port, _ := strings.Cut(b.addr, ":")
	b.stop(t)
	b = serveBroker(t, getenv, append([]string{"-port", port}, serverArgs[:len(serverArgs)-2]...)...)
	copts, err := cfg.security.RemoteOptions(getenv)
	if err != nil {
		t.Fatal(err)
	}
	s, err = kafka.Remote([]string{b.addr}, copts...)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(s.KgoOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx, "kept")
	if err != nil || topics["kept"].Err != nil || len(topics["kept"].Partitions) != kafka.DefaultPartitions {
		t.Errorf("topic kept after the restart: %+v, %v", topics["kept"], err)
	}
}

func TestBrokerFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-sync-writes"},
		{"-tls-cert", "x.pem"},
		{"-sasl-mechanism", "PLAIN", "-sasl-user", "u"}, // no password
		{"-sasl-mechanism", "OAUTHBEARER", "-sasl-user", "u"},
	} {
		err := runBrokerEnv(context.Background(), append([]string{"-port", "0"}, args...), io.Discard, io.Discard, func(string) string { return "" })
		if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
			t.Errorf("riffle broker %q: %v, want a usage error", args, err)
		}
	}
	if _, err := parseBenchConfig([]string{"-tls"}, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("riffle bench -tls without -brokers: %v", err)
	}
}
