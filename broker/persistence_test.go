package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestPersistenceOptionsInvalid(t *testing.T) {
	for name, opts := range map[string][]Option{
		"empty data dir":            {WithDataDir("")},
		"sync writes without a dir": {WithSyncWrites()},
	} {
		if _, err := Start(opts...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

// A cluster with a data directory, closed and started again on it and on
// the same port, still has its topics (with their partition counts), their
// records at their offsets, and the groups' committed offsets; new records
// go after the old ones.
func TestRestartWithDataDir(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%t", sync), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := []Option{WithDataDir(dir), WithPartitions(3), WithSeedTopics("seeded")}
			if sync {
				opts = append(opts, WithSyncWrites())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			first := startCluster(t, opts...)
			s := first.Settings()
			if err := s.EnsureTopics(ctx, "created"); err != nil {
				t.Fatal(err)
			}
			const n = 60
			cl := kafkatest.Client(t, s)
			var recs []*kgo.Record
			for i := range n {
				recs = append(recs, &kgo.Record{Topic: "created", Key: []byte(strconv.Itoa(i)), Value: []byte("v" + strconv.Itoa(i))})
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			before, err := kafkatest.ConsumeContext(ctx, s, "created", n)
			if err != nil {
				t.Fatal(err)
			}
			adm := kadm.NewClient(kafkatest.Client(t, s))
			commits := kadm.Offsets{}
			for p := range int32(3) {
				commits.AddOffset("created", p, int64(p)+1, -1)
			}
			if err := adm.CommitAllOffsets(ctx, "restarted-group", commits); err != nil {
				t.Fatal(err)
			}
			cl.Close()
			_, port, err := net.SplitHostPort(first.Brokers()[0])
			if err != nil {
				t.Fatal(err)
			}
			first.Close()

			p, err := strconv.Atoi(port)
			if err != nil {
				t.Fatal(err)
			}
			second := startCluster(t, WithDataDir(dir), WithPartitions(3), WithPort(p))
			if got, want := second.Brokers(), first.Brokers(); got[0] != want[0] {
				t.Fatalf("restarted on %s, want %s", got, want)
			}
			s = second.Settings()
			adm = kadm.NewClient(kafkatest.Client(t, s))
			details, err := adm.ListTopics(ctx, "seeded", "created")
			if err != nil {
				t.Fatal(err)
			}
			for _, topic := range []string{"seeded", "created"} {
				if d, ok := details[topic]; !ok || d.Err != nil || len(d.Partitions) != 3 {
					t.Errorf("topic %s after the restart: %+v", topic, d)
				}
			}
			after, err := kafkatest.ConsumeContext(ctx, s, "created", n)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Fatalf("%d records after the restart, %d before", len(after), len(before))
			}
			type at struct {
				p int32
				o int64
			}
			was := map[at]string{}
			for _, r := range before {
				was[at{r.Partition, r.Offset}] = string(r.Key) + "=" + string(r.Value)
			}
			for _, r := range after {
				if got := string(r.Key) + "=" + string(r.Value); was[at{r.Partition, r.Offset}] != got {
					t.Errorf("partition %d offset %d: %s after the restart, %s before", r.Partition, r.Offset, got, was[at{r.Partition, r.Offset}])
				}
			}
			committed, err := adm.FetchOffsets(ctx, "restarted-group")
			if err != nil {
				t.Fatal(err)
			}
			for p := range int32(3) {
				if o, ok := committed.Lookup("created", p); !ok || o.At != int64(p)+1 {
					t.Errorf("committed offset of partition %d after the restart: %+v, want %d", p, o, p+1)
				}
			}
			more := &kgo.Record{Topic: "created", Key: []byte("0"), Value: []byte("new")}
			if err := kafkatest.Client(t, s).ProduceSync(ctx, more).FirstErr(); err != nil {
				t.Fatal(err)
			}
			var end int64
			for _, r := range after {
				if r.Partition == more.Partition {
					end = max(end, r.Offset+1)
				}
			}
			if more.Offset != end {
				t.Errorf("a new record went to offset %d of partition %d, want %d", more.Offset, more.Partition, end)
			}
		})
	}
}

// A cluster restarted on a data directory with groups holds JoinGroups for
// restartJoinGrace, so that members from before the restart, which it does
// not remember, give their partitions up before a new generation hands them
// out; one started on an empty directory does not.
func TestRestartHoldsJoins(t *testing.T) {
	dir := t.TempDir()
	join := func(c *Cluster) time.Duration {
		t.Helper()
		assigned := make(chan struct{}, 1)
		began := time.Now()
		cl := kafkatest.Client(t, c.Settings(), kgo.ConsumerGroup("held"), kgo.ConsumeTopics("held-in"),
			kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
				select {
				case assigned <- struct{}{}:
				default:
				}
			}))
		go func() {
			for {
				if fs := cl.PollFetches(t.Context()); fs.IsClientClosed() || t.Context().Err() != nil {
					return
				}
			}
		}()
		select {
		case <-assigned:
		case <-time.After(60 * time.Second):
			t.Fatal("no assignment within 60 s")
		}
		took := time.Since(began)
		cl.Close()
		return took
	}
	first := startCluster(t, WithDataDir(dir), WithSeedTopics("held-in"))
	if took := join(first); took >= restartJoinGrace {
		t.Errorf("a fresh cluster assigned after %s, want under %s", took, restartJoinGrace)
	}
	first.Close()
	second := startCluster(t, WithDataDir(dir))
	if took := join(second); took < restartJoinGrace-time.Second {
		t.Errorf("a restarted cluster assigned after %s, want about %s", took, restartJoinGrace)
	}
}
