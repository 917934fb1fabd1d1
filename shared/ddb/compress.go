package ddb

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"sync"
)

// This file stores large JSON values gzip-compressed (results' raw outputs
// and snapshots): findings shrink about fourfold, and so do the items'
// write units.

var gzipWriters = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed); return w }}

// boundCompressed stores a JSON value gzip-compressed when that makes it
// smaller and keeps it whole (inline, or offloaded); a value that would be
// truncated is stored as it is, so its prefix stays readable.
func (s *Store) boundCompressed(ctx context.Context, prefix string, data []byte) (bounded, bool, error) {
	if len(data) >= 256 {
		var buf bytes.Buffer
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&buf)
		_, werr := zw.Write(data)
		cerr := zw.Close()
		gzipWriters.Put(zw)
		if werr == nil && cerr == nil && buf.Len() < len(data) && (buf.Len() <= InlineLimit || s.blobs != nil) {
			b, err := s.bound(ctx, prefix, buf.Bytes())
			return b, true, err
		}
	}
	b, err := s.bound(ctx, prefix, data)
	return b, false, err
}

// unboundCompressed reads back what boundCompressed stored.
func (s *Store) unboundCompressed(ctx context.Context, b bounded, gz bool) ([]byte, error) {
	data, err := s.unbound(ctx, b)
	if err != nil || !gz {
		return data, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return out, nil
}
