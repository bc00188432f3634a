package broker

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/riffle-streams/riffle/internal/await"
	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
)

// memberEnv names the environment variable that turns the test binary into a
// group member (see runMember). Its value is the cluster's address.
const memberEnv = "RIFFLE_BROKER_TEST_MEMBER"

const (
	rejoinGroup  goka.Group  = "rejoin"
	rejoinInput  goka.Stream = "rejoin-input"
	rejoinOutput goka.Stream = "rejoin-output"
)

// runMember runs a processor of rejoinGroup with the default settings against
// the cluster at $RIFFLE_BROKER_TEST_MEMBER, prints "ready" once it owns its
// partitions and runs until it is killed. It returns the exit code.
func runMember() int {
	s, err := kafka.Remote([]string{os.Getenv(memberEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	opts := append(s.ProcessorOptions(), goka.WithStorageBuilder(storage.MemoryBuilder()))
	p, err := goka.NewProcessor(s.Brokers, kafkatest.CounterGroup(rejoinGroup, rejoinInput, rejoinOutput), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	go func() {
		if err := p.WaitForReady(); err == nil {
			fmt.Println("ready")
		}
	}()
	if err := p.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return 1 // Run only returns on failure: the member is meant to be killed
}

// TestRejoinAfterKill kills a group member with SIGKILL, so that it never
// leaves the group, and checks that a new member with the same settings takes
// its partitions over instead of failing with an i/o timeout.
func TestRejoinAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a session timeout")
	}
	c := startCluster(t)
	s := c.Settings()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := s.EnsureTopics(ctx, string(rejoinInput), string(rejoinOutput)); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}

	member := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	member.Env = append(os.Environ(), memberEnv+"="+s.Brokers[0])
	member.Stderr = os.Stderr
	stdout, err := member.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := member.Start(); err != nil {
		t.Fatalf("start member: %v", err)
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && strings.TrimSpace(lines.Text()) != "ready" {
	}
	if err := lines.Err(); err != nil || ctx.Err() != nil {
		t.Fatalf("member never got ready: %v", err)
	}
	if err := member.Process.Kill(); err != nil { // SIGKILL: no LeaveGroup
		t.Fatalf("kill member: %v", err)
	}
	_ = member.Wait() // "signal: killed"
	killed := time.Now()

	var callbacks atomic.Int64
	p := kafkatest.StartProcessor(t, s, kafkatest.CounterGroup(rejoinGroup, rejoinInput, rejoinOutput),
		goka.WithContextWrapper(func(c goka.Context) goka.Context {
			callbacks.Add(1)
			return c
		}))
	if err := p.WaitForReadyContext(ctx); err != nil {
		t.Fatalf("WaitForReady: %v", err)
	}
	if err := p.Failed(); err != nil { // WaitForReady also returns when Run fails
		t.Fatalf("new member: %v", err)
	}
	ready := time.Since(killed)
	em, err := goka.NewEmitter(s.Brokers, rejoinInput, new(codec.String), s.EmitterOptions()...)
	if err != nil {
		t.Fatalf("NewEmitter: %v", err)
	}
	defer em.Finish()
	if err := em.EmitSync("key", "value"); err != nil {
		t.Fatalf("EmitSync: %v", err)
	}
	await.Until(t, 10*time.Second, "a record processed by the new member", func() bool { return callbacks.Load() == 1 })
	if err := p.Failed(); err != nil {
		t.Fatalf("new member: %v", err)
	}
	t.Logf("new member ready %v after the kill (session timeout %v, rebalance timeout %v), processing %v after it",
		ready.Round(time.Millisecond), s.Sarama.Consumer.Group.Session.Timeout, s.Sarama.Consumer.Group.Rebalance.Timeout, time.Since(killed).Round(time.Millisecond))
}
