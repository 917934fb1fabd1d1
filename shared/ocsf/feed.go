package ocsf

import "io"

// readSize is how much the window asks its source for at a time (after
// its first read, of firstSize).
const (
	readSize  = 256 << 10
	firstSize = 32 << 10
)

// window is the reader's one buffer over the file: the file's bytes
// [base, base+len(buf)), read from the source in large reads. Bytes are
// dropped only when fill is told they are no longer needed, so a finding
// being read stays whole in buf (it is parsed where it lies, and Raw is
// copied from there); memory is bounded by the largest finding kept, which
// the reader caps at its size limit.
type window struct {
	r      io.Reader
	buf    []byte
	base   int64 // file offset of buf[0]
	pos    int   // next byte to look at, an index into buf
	eof    bool  // the source is at its end
	srcErr error // the first error of the source other than io.EOF
	total  int64 // bytes read from the source: the file's size once eof
	chunk  int   // the most one Read asks for: readSize (tests make it small)
}

// end is the file offset just past the bytes in the window.
func (w *window) end() int64 { return w.base + int64(len(w.buf)) }

// fill reads at least want more bytes of the source (fewer at its end),
// dropping the bytes before file offset keep (keep ≤ the offset of pos). It
// returns io.EOF at the end of the source, the source's error, or nil when
// bytes were added.
func (w *window) fill(keep int64, want int) error {
	if w.srcErr != nil {
		return w.srcErr
	}
	if w.eof {
		return io.EOF
	}
	if k := int(keep - w.base); k > 0 {
		n := copy(w.buf, w.buf[k:])
		w.buf = w.buf[:n]
		w.base += int64(k)
		w.pos -= k
	}
	want = max(want, 1)
	if free := cap(w.buf) - len(w.buf); free < want || free < w.chunk/2 {
		size := len(w.buf) + max(want, w.chunk)
		if w.buf == nil {
			size = max(want, min(w.chunk, firstSize)) // a small file needs no more
		}
		grown := make([]byte, len(w.buf), size)
		copy(grown, w.buf)
		w.buf = grown
	}
	added := 0
	for added < want {
		n, err := w.r.Read(w.buf[len(w.buf):min(cap(w.buf), len(w.buf)+w.chunk)])
		w.buf = w.buf[:len(w.buf)+n]
		w.total += int64(n)
		added += n
		switch {
		case err == io.EOF:
			w.eof = true
		case err != nil:
			w.srcErr = err
		}
		if err != nil {
			if added > 0 {
				return nil
			}
			return err
		}
	}
	return nil
}

// peek returns the next byte other than JSON whitespace, and its file
// offset, leaving pos on it (whitespace before it is dropped). At the end of
// the source it returns io.EOF and the offset of the end.
func (w *window) peek() (byte, int64, error) {
	for {
		for ; w.pos < len(w.buf); w.pos++ {
			if b := w.buf[w.pos]; !isSpace(b) {
				return b, w.base + int64(w.pos), nil
			}
		}
		if err := w.fill(w.end(), w.chunk/2); err != nil {
			return 0, w.end(), err
		}
	}
}

// drain reads the rest of the source, keeping nothing, so that total is the
// file's size.
func (w *window) drain() error {
	for {
		w.pos = len(w.buf)
		if err := w.fill(w.end(), w.chunk/2); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }
