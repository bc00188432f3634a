package kafka_test

import (
	"fmt"
	"log"

	"github.com/riffle-streams/riffle/kafka"
)

// Settings for a real cluster; the same code then runs against it.
func ExampleRemote() {
	settings, err := kafka.Remote([]string{"kafka-1:9092", "kafka-2:9092", "kafka-3:9092"},
		kafka.WithPartitions(12),
		kafka.WithReplicationFactor(3),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(settings.Brokers, settings.Partitions, settings.ReplicationFactor)
	// Output: [kafka-1:9092 kafka-2:9092 kafka-3:9092] 12 3
}
