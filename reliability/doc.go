// Package reliability is riffle's cross-process reliability suite. It has no
// library code: its tests (build tag "reliability", run with make reliability
// or make reliability-short) start the embedded broker with "riffle broker",
// run processor processes of one group (command reliability/worker), kill,
// add and remove them, inject remote faults and bad input, and check the
// output, the group table and the committed offsets against an oracle that
// knows every input. See docs/reliability.md for the scenarios and results.
package reliability
