package kafka_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/riffle-streams/riffle/broker"
	"github.com/riffle-streams/riffle/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Settings for a secured cluster: every client riffle makes from them
// (goka's, franz-go's) connects with TLS and authenticates with SCRAM.
// Printed, the Settings name the user but never the password.
func ExampleWithSASL() {
	settings, err := kafka.Remote([]string{"kafka-1:9093"},
		kafka.WithTLS(&tls.Config{MinVersion: tls.VersionTLS12}),
		kafka.WithSASL(sarama.SASLTypeSCRAMSHA512, "app", "s3cret"),
	)
	if err != nil {
		panic(err)
	}
	fmt.Println(settings)
	// Output:
	// kafka.Settings{Brokers: ["kafka-1:9093"], Partitions: 4, ReplicationFactor: 1, Version: 2.3.0, TLS: true, SASL: SCRAM-SHA-512 user "app", password redacted}
}

// EnsureTopics creates the topics a program needs, with the Settings'
// partition count, and leaves existing ones alone; one whose partition
// count differs is reported, since goka needs co-partitioned inputs.
func ExampleSettings_EnsureTopics() {
	cluster, err := broker.Start(broker.WithPartitions(3))
	if err != nil {
		panic(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s := cluster.Settings()
	if err := s.EnsureTopics(ctx, "orders", "payments"); err != nil {
		panic(err)
	}
	client, err := kgo.NewClient(s.KgoOptions()...)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	topics, err := kadm.NewClient(client).ListTopics(ctx, "orders", "payments")
	if err != nil {
		panic(err)
	}
	for _, t := range topics.Sorted() {
		fmt.Printf("%s: %d partitions\n", t.Topic, len(t.Partitions))
	}

	s.Partitions = 6 // a copy of the Settings, for another program
	var mismatch *kafka.TopicMismatchError
	err = s.EnsureTopics(ctx, "orders")
	fmt.Println("mismatch:", errors.As(err, &mismatch))
	// Output:
	// orders: 3 partitions
	// payments: 3 partitions
	// mismatch: true
}

// A goka emitter from the Settings writes records that any client reads;
// KgoOptions partition by key as goka's emitter does, so both agree on
// where a key lives.
func ExampleSettings_EmitterOptions() {
	cluster, err := broker.Start(broker.WithPartitions(4))
	if err != nil {
		panic(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := cluster.Settings()
	if err := s.EnsureTopics(ctx, "user-names"); err != nil {
		panic(err)
	}

	emitter, err := goka.NewEmitter(s.Brokers, "user-names", new(codec.String), s.EmitterOptions()...)
	if err != nil {
		panic(err)
	}
	users := map[string]string{"u1": "Ann", "u2": "Bob", "u3": "Carol"}
	for user, name := range users {
		if err := emitter.EmitSync(user, name); err != nil {
			panic(err)
		}
	}
	if err := emitter.Finish(); err != nil {
		panic(err)
	}

	client, err := kgo.NewClient(append(s.KgoOptions(),
		kgo.ConsumeTopics("user-names"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	var read []string
	for len(read) < len(users) {
		fetches := client.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			panic(err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			// Where the franz-go client would write the same key.
			same := &kgo.Record{Topic: r.Topic, Key: r.Key}
			p := kafka.KgoPartitioner().ForTopic(r.Topic).Partition(same, 4)
			read = append(read, fmt.Sprintf("%s=%s same partition: %t", r.Key, r.Value, int32(p) == r.Partition))
		})
	}
	slices.Sort(read)
	for _, line := range read {
		fmt.Println(line)
	}
	// Output:
	// u1=Ann same partition: true
	// u2=Bob same partition: true
	// u3=Carol same partition: true
}
