// Package ocsf reads Prowler's OCSF output: one JSON array of Detection
// Findings, streamed element by element so memory stays flat however large
// the file. Each finding is validated on its own; a bad one is reported as a
// Problem with its position (index in the array and byte offset) and the
// reader carries on with the next, so one bad finding never costs the rest.
package ocsf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Limits applied to every finding.
const (
	// DefaultMaxFindingBytes bounds one finding: a larger one is skipped
	// without being buffered whole and reported as too_large. Real findings
	// are a few KB; resource data with a big policy reaches some hundred KB.
	DefaultMaxFindingBytes = 4 << 20
	// MaxDetailBytes bounds status_detail as kept (longer is cut at a rune
	// boundary and marked with DetailTruncated).
	MaxDetailBytes = 8 << 10
	// MaxUIDBytes bounds a resource uid; ARNs are at most 2048 characters.
	MaxUIDBytes = 2048
	// MaxResources bounds the resources of one finding.
	MaxResources = 1000
)

// Resource is one resource a finding names.
type Resource struct {
	UID    string          `json:"uid"`
	Region string          `json:"region"`
	Data   json.RawMessage `json:"data"` // the resource snapshot; may be absent
}

// Finding is one validated OCSF finding.
type Finding struct {
	Index  int   // position in the array
	Offset int64 // byte offset of its first byte
	// CheckID is metadata.event_code.
	CheckID string
	// StatusCode is PASS, FAIL, MANUAL (anything else maps to error).
	StatusCode string
	// Status is the finding's OCSF status; "Suppressed" means muted.
	Status          string
	StatusDetail    string
	DetailTruncated bool
	Severity        string
	Region          string
	AccountUID      string
	Resources       []Resource
	// Raw is the finding exactly as it was in the file.
	Raw json.RawMessage
}

// Muted reports whether Prowler muted the finding (a mutelist matched).
func (f Finding) Muted() bool { return f.Status == "Suppressed" }

// Option configures a Reader.
type Option func(*Reader)

// WithMaxFindingBytes sets the size limit of one finding.
func WithMaxFindingBytes(n int) Option { return func(r *Reader) { r.max = int64(n) } }

// Reader streams the findings of one OCSF file.
type Reader struct {
	w     window
	src   bytes.Buffer     // the window's bytes from a finding's start, for dec
	dec   jsontext.Decoder // reads one finding where it lies in the window
	wk    walker
	max   int64
	index int   // index of the next element
	state int   // stateStart, stateArray, stateDone
	comma bool  // an element was read: a comma must come before the next
	err   error // the source's error, returned from then on
	// trailing is a problem found after the array's end, returned once.
	trailing *Problem
	check    bool // tests: jsontext must accept what the walk does
}

const (
	stateStart = iota
	stateArray
	stateDone
)

// NewReader reads the findings of the OCSF document r.
func NewReader(r io.Reader, opts ...Option) *Reader {
	rd := &Reader{max: DefaultMaxFindingBytes, w: window{chunk: readSize}}
	for _, o := range opts {
		o(rd)
	}
	rd.w.r = r
	return rd
}

// Index is the number of array elements read so far (findings and problems).
func (r *Reader) Index() int { return r.index }

// BytesRead is the number of bytes read from the file so far: its size
// once Next has returned io.EOF or a fatal problem.
func (r *Reader) BytesRead() int64 { return r.w.total }

// Next returns the next finding. A bad finding comes back as a *Problem
// error (count it and call Next again); a *Problem with Fatal set ends the
// file. At the end Next returns io.EOF. Any other error is the underlying
// reader's (a network failure: the read can be retried from the start).
func (r *Reader) Next() (Finding, error) {
	if r.err != nil {
		return Finding{}, r.err
	}
	f, err := r.next()
	var p *Problem
	if err != nil && err != io.EOF && !errors.As(err, &p) {
		r.state = stateDone
		r.err = fmt.Errorf("read OCSF: %w", err)
		return Finding{}, r.err
	}
	return f, err
}

func (r *Reader) next() (Finding, error) {
	switch r.state {
	case stateDone:
		if p := r.trailing; p != nil {
			r.trailing = nil
			return Finding{}, p
		}
		return Finding{}, io.EOF
	case stateStart:
		if err := r.start(); err != nil {
			r.state = stateDone
			return Finding{}, err
		}
		r.state = stateArray
	}
	c, at, err := r.w.peek()
	if r.comma && err == nil && c == ',' {
		r.w.pos++
		r.comma = false
		c, at, err = r.w.peek()
		if err == nil && (c == ']' || c == '}') {
			return r.element(at) // a comma before the end: a bad element
		}
	}
	switch {
	case err == io.EOF:
		r.state = stateDone
		return Finding{}, &Problem{Index: r.index, Offset: at, Kind: KindTruncated, Fatal: true,
			Message: "the file ends inside the array", End: r.w.total}
	case err != nil:
		return Finding{}, err
	case c == ']':
		r.w.pos++
		r.state = stateDone
		return Finding{}, r.afterArray()
	case c == '}':
		r.state = stateDone
		msg := "expected the end of the array: invalid character '}' looking for beginning of value"
		if r.comma {
			msg = "expected the end of the array: invalid character '}' after array element"
		}
		return Finding{}, &Problem{Index: r.index, Offset: at, Kind: KindSyntax, Fatal: true, End: r.w.total, Message: msg}
	case r.comma && c != ',':
		index := r.index
		r.index++
		return Finding{}, r.skip(&Problem{Index: index, Offset: at, Kind: KindSyntax,
			Message: "expected comma after array element"})
	}
	return r.element(at)
}

// utf8BOM is the byte order mark some tools put before a UTF-8 text. The
// reader skips one at the very start of the file (offsets stay file offsets).
const utf8BOM = "\xEF\xBB\xBF"

// start skips a leading byte order mark and whitespace and reads the
// opening bracket. A file with nothing else is a fatal KindEmpty: Prowler
// writes at least "[]", so no bytes at all means the file was lost on the
// way.
func (r *Reader) start() error {
	for len(r.w.buf) < len(utf8BOM) {
		if err := r.w.fill(0, len(utf8BOM)-len(r.w.buf)); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
	}
	if bytes.HasPrefix(r.w.buf, []byte(utf8BOM)) {
		r.w.pos = len(utf8BOM)
	}
	c, at, err := r.w.peek()
	switch {
	case err == io.EOF:
		msg := "the file has no bytes (no JSON array, not even [])"
		if at > 0 {
			msg = fmt.Sprintf("the file's %d bytes are only whitespace (no JSON array, not even [])", at)
		}
		return &Problem{Index: -1, Offset: at, Kind: KindEmpty, Fatal: true, Message: msg, End: at}
	case err != nil:
		return err
	case c != '[':
		what, err := r.describe(at)
		if err != nil {
			return err
		}
		return &Problem{Index: -1, Offset: at, Kind: KindNotArray, Fatal: true, Message: what}
	}
	r.w.pos++
	return nil
}

// describe says what the file starts with instead of an array, as
// encoding/json's first token would have: "it starts with {" (or a string,
// null, bool, float64), or "it is not JSON".
func (r *Reader) describe(at int64) (string, error) {
	var tok jsontext.Token
	for {
		view := r.w.buf[at-r.w.base:]
		capped := int64(len(view)) > r.max
		if capped {
			view = view[:r.max+1]
		}
		r.src = *bytes.NewBuffer(view)
		r.dec.Reset(&r.src, tokenizer...)
		var err error
		tok, err = r.dec.ReadToken()
		more := errors.Is(err, io.ErrUnexpectedEOF) || err == nil && int(r.dec.InputOffset()) == len(view)
		if !more || capped || r.w.eof {
			if err != nil {
				return "it is not JSON", nil
			}
			break
		}
		r.w.pos = len(r.w.buf)
		if err := r.w.fill(at, max(len(view), r.w.chunk/4)); err != nil && err != io.EOF {
			return "", err
		}
	}
	switch tok.Kind() {
	case '{':
		return "it starts with {", nil
	case '"':
		return "it starts with a string", nil
	case 'n':
		return "it starts with null", nil
	case 't', 'f':
		return "it starts with bool", nil
	default:
		if _, err := strconv.ParseFloat(tok.String(), 64); err != nil {
			return "it is not JSON", nil // out of float64's range
		}
		return "it starts with float64", nil
	}
}

// afterArray checks nothing but whitespace follows the array's end: it
// returns io.EOF, or a trailing-data problem after reading the rest of the
// file (so that BytesRead is its size, however the source splits it).
func (r *Reader) afterArray() error {
	_, at, err := r.w.peek()
	if err != nil {
		return err // io.EOF: nothing follows
	}
	if err := r.w.drain(); err != nil {
		return err
	}
	return &Problem{Index: -1, Offset: at, Kind: KindTrailingData, Message: "data after the end of the array"}
}

// element reads the element that starts at file offset at. It is parsed
// where it lies in the window, which is refilled until the element ends in
// it; the parse sees at most the limit and one byte, so what is found in a
// finding (and where) does not depend on how the source splits the file.
func (r *Reader) element(at int64) (Finding, error) {
	index := r.index
	r.index++
	for {
		start := int(at - r.w.base)
		view := r.w.buf[start:]
		capped := int64(len(view)) > r.max
		if capped {
			view = view[:r.max+1]
		}
		if n := r.wk.walk(view, r.w.eof && !capped); n >= 0 {
			if r.check {
				r.crossCheck(view, n)
			}
			raw := bytes.Clone(view[:n])
			r.w.pos = start + n
			r.comma = true
			if int64(n) > r.max {
				return Finding{}, &Problem{Index: index, Offset: at, Kind: KindTooLarge,
					Message: fmt.Sprintf("finding is %d bytes, over the %d byte limit", n, r.max)}
			}
			if r.wk.wrong != "" {
				return Finding{}, &Problem{Index: index, Offset: at, Kind: KindWrongType, Message: r.wk.wrong}
			}
			return r.wk.finding(index, at, raw)
		}
		// Not a whole valid value: jsontext says why.
		r.src = *bytes.NewBuffer(view)
		r.dec.Reset(&r.src, tokenizer...)
		v, err := r.dec.ReadValue()
		parsed := err == nil
		switch {
		case parsed && (len(v) < len(view) || r.w.eof):
			// Cannot be: the walk accepts what jsontext accepts.
			r.w.pos = start + len(v)
			r.comma = true
			return Finding{}, &Problem{Index: index, Offset: at, Kind: KindSyntax,
				Message: "the reader's scanner rejects this finding, which jsontext accepts"}
		case parsed || errors.Is(err, io.ErrUnexpectedEOF):
			if capped {
				return Finding{}, r.skip(&Problem{Index: index, Offset: at, Kind: KindTooLarge,
					Message: fmt.Sprintf("finding is over the %d byte limit", r.max)})
			}
			if r.w.eof {
				return Finding{}, r.skip(&Problem{Index: index, Offset: at, Kind: KindTruncated,
					Message: "the file ends inside this finding"})
			}
		case capped || r.w.eof || !nearEnd(err, len(view)):
			return Finding{}, r.skip(&Problem{Index: index, Offset: at, Kind: KindSyntax, Message: syntaxMessage(err, at)})
		}
		// The element goes on past the window (or its error is at the
		// window's edge, maybe in a character cut in two): read as much
		// again as is kept, so that it is parsed a bounded number of
		// times however the source splits it.
		kept := r.w.end() - at
		r.w.pos = len(r.w.buf)
		if err := r.w.fill(at, int(max(min(kept, r.max+1-kept), int64(r.w.chunk/4)))); err != nil && err != io.EOF {
			return Finding{}, err
		}
	}
}

// crossCheck panics unless jsontext accepts the n bytes the walk accepted
// at the start of view (tests only).
func (r *Reader) crossCheck(view []byte, n int) {
	r.src = *bytes.NewBuffer(view)
	r.dec.Reset(&r.src, tokenizer...)
	if v, err := r.dec.ReadValue(); err != nil || len(v) != n {
		panic(fmt.Sprintf("the walk accepts %q (%d bytes), jsontext reads %d bytes: %v", view, n, len(v), err))
	}
}

// nearEnd reports whether the tokenizer's error is in the last bytes of a
// view of n bytes, where more bytes could make it another error.
func nearEnd(err error, n int) bool {
	var se *jsontext.SyntacticError
	return errors.As(err, &se) && se.ByteOffset >= int64(n-utf8.UTFMax)
}

// skip skips the bad element p is about (from p.Offset) to the comma or
// bracket after it, and returns p (fatal if the file ends first).
func (r *Reader) skip(p *Problem) error {
	end, err := r.w.skipElement(p.Offset)
	switch {
	case err == io.EOF: // the file ended before the element did
		if p.Kind != KindTooLarge {
			p.Kind, p.Message = KindTruncated, "the file ends inside this finding"
		}
		p.Fatal, p.End = true, r.w.total
		r.state = stateDone
	case err != nil:
		return err
	case end == ',':
		r.comma = false
	default: // ']'
		r.state = stateDone
		switch err := r.afterArray(); {
		case errors.As(err, &r.trailing): // returned after p
		case err != io.EOF:
			return err
		}
	}
	return p
}

// syntaxMessage words a tokenizer error: what is wrong, at which byte of the
// file, and where in the finding.
func syntaxMessage(err error, at int64) string {
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return err.Error()
	}
	msg := fmt.Sprintf("%v at byte %d", se.Err, at+se.ByteOffset)
	if se.JSONPointer != "" {
		msg += fmt.Sprintf(" (in %s)", se.JSONPointer)
	}
	return msg
}

// cut bounds s to n bytes at a rune boundary.
func cut(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

func clip(s string, n int) string {
	c, _ := cut(s, n)
	return c
}
