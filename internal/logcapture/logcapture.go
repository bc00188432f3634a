// Package logcapture keeps what a test's loggers and child processes write,
// so that the test can look for a line or a secret in it afterwards.
//
// This is test support: only _test.go files and test helpers import it,
// never a library package.
package logcapture

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Log keeps everything written to it. It is safe for concurrent use, since
// the writers are goroutines of goka, sarama, franz-go, riffle or a child
// process while the test reads. Its zero value is empty and ready to use.
//
// A Log is an io.Writer (a child process's output, a text slog handler:
// Logger), and a goka.Logger and a sarama.StdLogger (Print, Printf,
// Println), each call of which is a line.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p as it is.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Print appends fmt.Sprint(v...) as a line.
func (l *Log) Print(v ...any) { l.line(fmt.Sprint(v...)) }

// Printf appends fmt.Sprintf(format, v...) as a line.
func (l *Log) Printf(format string, v ...any) { l.line(fmt.Sprintf(format, v...)) }

// Println appends fmt.Sprintln(v...), a line.
func (l *Log) Println(v ...any) { l.line(fmt.Sprintln(v...)) }

// line appends s and a newline unless s ends with one.
func (l *Log) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.WriteString(s)
	if !strings.HasSuffix(s, "\n") {
		l.buf.WriteByte('\n')
	}
}

// Logger returns a text slog logger that writes to l, a record a line.
func (l *Log) Logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// String returns a copy of everything written.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines returns what was written, split into lines (without their
// newlines).
func (l *Log) Lines() []string {
	s := strings.TrimSuffix(l.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Matching returns the lines that contain sub.
func (l *Log) Matching(sub string) []string {
	var out []string
	for _, line := range l.Lines() {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return out
}
