package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
)

// prowlerLog keeps the Prowler run's log lines in a file and counts its
// errors, so a local scan prints one line for them: against the local AWS
// server Prowler logs dozens of errors about services it does not model.
type prowlerLog struct {
	path   string
	file   *os.File
	errors atomic.Int64
}

// openProwlerLog truncates dir/prowler.log.
func openProwlerLog(dir string) (*prowlerLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("prowler log: %w", err)
	}
	path := filepath.Join(dir, "prowler.log")
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("prowler log: %w", err)
	}
	return &prowlerLog{path: path, file: f}, nil
}

// logger writes JSON lines to the file, counting those at error level.
func (l *prowlerLog) logger() *slog.Logger {
	h := slog.NewJSONHandler(l.file, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(&countingHandler{Handler: h, errors: &l.errors})
}

// summary is the run's errors in one line ("" when there were none).
func (l *prowlerLog) summary() string {
	if l == nil {
		return ""
	}
	n := l.errors.Swap(0)
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d errors in Prowler's log (mostly services the local AWS server does not model): %s", n, l.path)
}

func (l *prowlerLog) Close() error {
	if l == nil {
		return nil
	}
	return l.file.Close()
}

// countingHandler counts the records at error level it handles.
type countingHandler struct {
	slog.Handler
	errors *atomic.Int64
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.errors.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithAttrs(a), errors: h.errors}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithGroup(name), errors: h.errors}
}
