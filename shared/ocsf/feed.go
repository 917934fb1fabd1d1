package ocsf

import (
	"encoding/json"
	"errors"
	"io"
)

// errTooLarge stops the decoder when the value it is reading outgrows the
// reader's finding limit, before the value is buffered whole.
var errTooLarge = errors.New("finding exceeds the size limit")

// feed is the one source of bytes the reader's decoders and its skipper
// share: bytes put back after a recovery are served first, then the
// underlying reader. It counts file bytes, and refuses to hand the current
// decoder more bytes once the value being decoded is over the limit, so
// memory stays bounded by the limit whatever the input.
type feed struct {
	r       io.Reader
	pending []byte   // served before r: put-back bytes, or a synthetic "["
	stack   [][]byte // further put-back segments, served after pending (last first)
	chunk   []byte   // read buffer for the skipper
	srcErr  error    // the first error of r other than io.EOF
	total   int64    // bytes read from r: the file's size once r is at its end

	dec    *json.Decoder
	served int64 // bytes handed to dec since it was created
	limit  int64 // max bytes dec may hold beyond its input offset
}

func newFeed(r io.Reader, limit int64) *feed {
	return &feed{r: r, limit: limit}
}

// Read serves the current decoder.
func (f *feed) Read(p []byte) (int, error) {
	if f.dec != nil && f.served-f.dec.InputOffset() > f.limit {
		return 0, errTooLarge
	}
	f.pop()
	if len(f.pending) > 0 {
		n := copy(p, f.pending)
		f.pending = f.pending[n:]
		f.served += int64(n)
		return n, nil
	}
	n, err := f.r.Read(p)
	f.served += int64(n)
	f.total += int64(n)
	if err != nil && err != io.EOF && f.srcErr == nil {
		f.srcErr = err
	}
	return n, err
}

// unread puts bytes back in front of the feed; b is not copied, so the
// caller must not reuse it. Constant time, whatever is already pending.
func (f *feed) unread(b []byte) {
	if len(b) == 0 {
		return
	}
	if len(f.pending) > 0 {
		f.stack = append(f.stack, f.pending)
	}
	f.pending = b
}

// pop makes the next put-back segment current when pending is used up.
func (f *feed) pop() {
	for len(f.pending) == 0 && len(f.stack) > 0 {
		f.pending = f.stack[len(f.stack)-1]
		f.stack = f.stack[:len(f.stack)-1]
	}
}

// next returns the next byte for the skipper, reading r in chunks.
func (f *feed) next() (byte, error) {
	f.pop()
	if len(f.pending) == 0 {
		if f.chunk == nil {
			f.chunk = make([]byte, 32<<10)
		}
		for len(f.pending) == 0 {
			n, err := f.r.Read(f.chunk)
			f.pending = f.chunk[:n]
			f.total += int64(n)
			if n > 0 {
				break
			}
			if err != nil {
				if err != io.EOF && f.srcErr == nil {
					f.srcErr = err
				}
				return 0, err
			}
		}
	}
	b := f.pending[0]
	f.pending = f.pending[1:]
	return b, nil
}
