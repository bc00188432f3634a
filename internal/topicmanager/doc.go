// Package topicmanager makes goka's topic manager safe for processors that
// start at the same moment on a cluster where their topics do not exist yet.
//
// goka's topic manager ensures a topic in two steps: it reads the cluster's
// metadata, and if the topic is missing it creates it. Two processors of one
// group that start together (three workers of a deployment, or a scale-out)
// can both see the topic missing; Kafka creates it for the first and answers
// the second with TOPIC_ALREADY_EXISTS, which goka returns as an error, so
// goka.NewProcessor fails for the second. RaceTolerant wraps a
// goka.TopicManagerBuilder so that this answer leads to a second ensure, which
// then finds the topic and checks its partitions and config as goka does for
// any existing topic.
//
// Package broker wraps its TopicManagerBuilder with it; package gokaadapter
// wraps whichever builder it is given (goka's default included), for the
// group's tables and loops and for the dead-letter topic it creates.
package topicmanager
