// Package kafkatest talks to a Kafka cluster from a test, given the cluster's
// client settings (kafka.Settings): it creates the test's topics, produces,
// emits and consumes records with clients that partition as goka does, and
// runs goka processors (with in-memory storage) that stop when the test
// ends. Whatever fails, fails the test, except where a function returns an
// error for the caller to judge.
//
// It does not start a cluster and does not import package broker, so that
// broker's own in-package tests can use it as well; internal/clustertest
// starts the embedded cluster for one test.
//
// This is test support: only _test.go files and test helpers import it,
// never a library package.
package kafkatest
