package gokaadapter_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// logCapture keeps what a test's loggers write, safe for the adapter's and
// goka's goroutines: it is the writer of a text slog logger (logger, for
// gokaadapter.WithLogger) and a goka.Logger itself (for goka.WithLogger).
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.Split(strings.TrimRight(string(p), "\n"), "\n")...)
	return len(p), nil
}

func (l *logCapture) Print(v ...any)                 { l.add(fmt.Sprint(v...)) }
func (l *logCapture) Println(v ...any)               { l.add(fmt.Sprint(v...)) }
func (l *logCapture) Printf(format string, v ...any) { l.add(fmt.Sprintf(format, v...)) }

func (l *logCapture) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logCapture) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// String returns everything logged, a line each.
func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// matching returns the lines that contain sub.
func (l *logCapture) matching(sub string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			out = append(out, s)
		}
	}
	return out
}
