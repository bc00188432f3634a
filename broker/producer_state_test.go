package broker

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/riffle-streams/riffle/internal/kafkatest"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// An idempotent producer's sequence survives a restart of the cluster on
// its data directory, after Close and after a crash: a batch that skips
// ahead is refused with OUT_OF_ORDER_SEQUENCE_NUMBER (so the producer sends
// again from its first unacknowledged batch, in order), a batch written
// before the restart and sent again is recognized as written (its first
// offset is returned and nothing is appended), and the next batch in
// sequence is accepted. A crash is what kfake leaves after kill -9: it
// writes seq_windows.json only when it is closed, so the crash variant
// removes it after Close. Without rebuildProducerState, the crash variant
// accepted the batch that skipped ahead (the out-of-order outputs of
// docs/reliability.md, scenario 7) and appended the retried one again.
func TestRestartKeepsProducerSequences(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := "close"
		if crash {
			name = "crash"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			const topic = "seq"
			first := startCluster(t, WithDataDir(dir), WithPartitions(1), WithSeedTopics(topic))
			cl := rawClient(t, first.Settings())
			pid, epoch := initProducerID(t, cl)
			for seq := range int32(5) {
				if got := produceRaw(t, cl, topic, pid, epoch, seq); got.ErrorCode != 0 || got.BaseOffset != int64(seq) {
					t.Fatalf("before the restart, seq %d: error %v at offset %d", seq, kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
				}
			}
			cl.Close()
			_, port, err := net.SplitHostPort(first.Brokers()[0])
			if err != nil {
				t.Fatal(err)
			}
			p, err := strconv.Atoi(port)
			if err != nil {
				t.Fatal(err)
			}
			first.Close()
			if crash {
				if err := os.Remove(filepath.Join(dir, seqWindowsName)); err != nil {
					t.Fatal(err)
				}
			}

			second := startCluster(t, WithDataDir(dir), WithPartitions(1), WithPort(p))
			cl = rawClient(t, second.Settings())
			if got := produceRaw(t, cl, topic, pid, epoch, 6); got.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
				t.Errorf("seq 6 after the restart (5 expected): error %v at offset %d, want %v",
					kerr.ErrorForCode(got.ErrorCode), got.BaseOffset, kerr.OutOfOrderSequenceNumber)
			}
			if got := produceRaw(t, cl, topic, pid, epoch, 4); got.ErrorCode != 0 || got.BaseOffset != 4 {
				t.Errorf("seq 4 again after the restart: error %v at offset %d, want the original offset 4",
					kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
			}
			if got := produceRaw(t, cl, topic, pid, epoch, 5); got.ErrorCode != 0 || got.BaseOffset != 5 {
				t.Errorf("seq 5 after the restart: error %v at offset %d, want offset 5",
					kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
			}
		})
	}
}

// rawClient is a client for hand-made requests; Produce stays at v11,
// whose requests name their topic (v13 identifies it by id).
func rawClient(t *testing.T, s kafka.Settings) *kgo.Client {
	return kafkatest.Client(t, s, kgo.MaxVersions(kversion.V3_7_0()))
}

// initProducerID asks the cluster for an idempotent producer id.
func initProducerID(t *testing.T, cl *kgo.Client) (int64, int16) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionTimeoutMillis = -1
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatal(err)
	}
	return resp.ProducerID, resp.ProducerEpoch
}

// produceRaw sends one record as producer (pid, epoch) with sequence number
// seq to partition 0 of topic, as a Produce v11 (which names the topic), and
// returns the partition's answer.
func produceRaw(t *testing.T, cl *kgo.Client, topic string, pid int64, epoch int16, seq int32) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	rec := kmsg.Record{Key: []byte("k"), Value: []byte(strconv.Itoa(int(seq)))}
	rec.Length = int32(len(rec.AppendTo(nil)) - 1)
	now := time.Now().UnixMilli()
	batch := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		FirstTimestamp:       now,
		MaxTimestamp:         now,
		ProducerID:           pid,
		ProducerEpoch:        epoch,
		FirstSequence:        seq,
		NumRecords:           1,
		Records:              rec.AppendTo(nil),
	}
	raw := batch.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:12], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:21], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))

	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = raw
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}
