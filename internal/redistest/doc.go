// Package redistest runs a real redis-server for tests and benchmarks.
//
// Start (for tests) and StartServer (for programs such as benchmarks) launch
// redis-server as a child process on 127.0.0.1, on a free port, with
// persistence off, and wait until it answers PING. Close stops it and waits
// for it to exit. If redis-server is not in PATH, Install installs Debian's
// package with apt-get (running apt-get update first if the install fails),
// once per machine at a time: concurrent test binaries serialise on the file
// lock LockPath.
//
// Tests skip only when the environment variable RIFFLE_SKIP_REDIS is 1;
// otherwise a redis-server that cannot be installed or started fails the
// test.
//
// This is test support: only this module's tests (and its benchmark
// programs) import it, never a library package.
package redistest
