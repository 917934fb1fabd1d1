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
	"strings"
	"unicode/utf8"

	"github.com/citadelsecure/citadel/shared/citadel"
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

// wire is the part of a finding the reader uses.
type wire struct {
	Metadata *struct {
		EventCode *string `json:"event_code"`
	} `json:"metadata"`
	StatusCode   *string `json:"status_code"`
	Status       string  `json:"status"`
	StatusDetail string  `json:"status_detail"`
	Severity     string  `json:"severity"`
	Cloud        *struct {
		Region  string `json:"region"`
		Account *struct {
			UID string `json:"uid"`
		} `json:"account"`
	} `json:"cloud"`
	Resources *[]*Resource `json:"resources"`
}

// Option configures a Reader.
type Option func(*Reader)

// WithMaxFindingBytes sets the size limit of one finding.
func WithMaxFindingBytes(n int) Option { return func(r *Reader) { r.max = int64(n) } }

// Reader streams the findings of one OCSF file.
type Reader struct {
	f     *feed
	dec   *json.Decoder
	delta int64 // file offset = decoder offset + delta
	max   int64
	index int // index of the next element
	state int // stateStart, stateArray, stateDone
	// trailing is a problem found after the array's end, returned once.
	trailing *Problem
}

const (
	stateStart = iota
	stateArray
	stateDone
)

// NewReader reads the findings of the OCSF document r.
func NewReader(r io.Reader, opts ...Option) *Reader {
	rd := &Reader{max: DefaultMaxFindingBytes}
	for _, o := range opts {
		o(rd)
	}
	rd.f = newFeed(r, rd.max)
	return rd
}

func (r *Reader) newDecoder(fileOffset int64, synthetic bool) {
	if synthetic {
		r.f.unread([]byte{'['})
		r.delta = fileOffset - 1
	} else {
		r.delta = fileOffset
	}
	r.f.served = 0
	r.dec = json.NewDecoder(r.f)
	r.f.dec = r.dec
	if synthetic {
		_, _ = r.dec.Token() // the "[" just put in front: cannot fail
	}
}

// Index is the number of array elements read so far (findings and problems).
func (r *Reader) Index() int { return r.index }

// BytesRead is the number of bytes read from the file so far: its size
// once Next has returned io.EOF or a fatal problem.
func (r *Reader) BytesRead() int64 { return r.f.total }

// Next returns the next finding. A bad finding comes back as a *Problem
// error (count it and call Next again); a *Problem with Fatal set ends the
// file. At the end Next returns io.EOF. Any other error is the underlying
// reader's (a network failure: the read can be retried from the start).
func (r *Reader) Next() (Finding, error) {
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
	if !r.dec.More() {
		return Finding{}, r.end()
	}
	index := r.index
	r.index++
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		return Finding{}, r.recover(index, err)
	}
	offset := r.dec.InputOffset() + r.delta - int64(len(raw))
	if int64(len(raw)) > r.max {
		return Finding{}, &Problem{Index: index, Offset: offset, Kind: KindTooLarge,
			Message: fmt.Sprintf("finding is %d bytes, over the %d byte limit", len(raw), r.max)}
	}
	return parse(index, offset, raw)
}

// utf8BOM is the byte order mark some tools put before a UTF-8 text. The
// reader skips one at the very start of the file (offsets stay file offsets).
const utf8BOM = "\xEF\xBB\xBF"

// start skips a leading byte order mark and whitespace and reads the
// opening bracket. A file with nothing else is a fatal KindEmpty: Prowler
// writes at least "[]", so no bytes at all means the file was lost on the
// way.
func (r *Reader) start() error {
	sk := skipper{f: r.f}
	at := int64(-1)
	for at < 0 {
		b, err := sk.byte()
		switch {
		case err == io.EOF:
			msg := "the file has no bytes (no JSON array, not even [])"
			if sk.off > 0 {
				msg = fmt.Sprintf("the file's %d bytes are only whitespace (no JSON array, not even [])", sk.off)
			}
			return &Problem{Index: -1, Offset: sk.off, Kind: KindEmpty, Fatal: true, Message: msg, End: sk.off}
		case err != nil:
			return fmt.Errorf("read OCSF: %w", err)
		case sk.off == 1 && b == utf8BOM[0]:
			rest := make([]byte, 0, 2)
			for len(rest) < 2 {
				c, err := sk.byte()
				if err != nil {
					break
				}
				rest = append(rest, c)
			}
			if r.f.srcErr != nil {
				return fmt.Errorf("read OCSF: %w", r.f.srcErr)
			}
			if string(rest) == utf8BOM[1:] {
				continue
			}
			r.f.unread(append([]byte{b}, rest...))
			at = 0
		case !isSpace(b):
			r.f.unread([]byte{b})
			at = sk.off - 1
		}
	}
	r.newDecoder(at, false)
	tok, err := r.dec.Token()
	if err != nil && r.f.srcErr != nil {
		return fmt.Errorf("read OCSF: %w", r.f.srcErr)
	}
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '[' {
		what := "it is not JSON"
		if err == nil {
			what = "it starts with " + describeToken(tok)
		}
		return &Problem{Index: -1, Offset: at, Kind: KindNotArray, Fatal: true, Message: what}
	}
	return nil
}

func (r *Reader) skipSpaceOffset() int64 {
	off := r.dec.InputOffset()
	b, _ := io.ReadAll(io.LimitReader(r.dec.Buffered(), 1<<20))
	return off + r.delta + int64(len(b)-len(bytes.TrimLeft(b, " \t\r\n")))
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return string(t)
	case string:
		return "a string"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", t)
	}
}

// end reads the closing bracket and checks nothing follows it.
func (r *Reader) end() error {
	r.state = stateDone
	tok, err := r.dec.Token()
	if err != nil {
		if r.f.srcErr != nil {
			return fmt.Errorf("read OCSF: %w", r.f.srcErr)
		}
		p := &Problem{Index: r.index, Offset: r.dec.InputOffset() + r.delta, Kind: KindTruncated, Fatal: true,
			Message: "the file ends inside the array", End: r.f.total}
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			p.Kind, p.Message = KindSyntax, "expected the end of the array: "+err.Error()
		}
		return p
	}
	if d, ok := tok.(json.Delim); !ok || d != ']' {
		return &Problem{Index: r.index, Offset: r.dec.InputOffset() + r.delta, Kind: KindSyntax, Fatal: true,
			Message: "expected the end of the array"}
	}
	if _, err := r.dec.Token(); err != io.EOF {
		if r.f.srcErr != nil {
			return fmt.Errorf("read OCSF: %w", r.f.srcErr)
		}
		return &Problem{Index: -1, Offset: r.skipSpaceOffset(), Kind: KindTrailingData, Message: "data after the end of the array"}
	}
	return io.EOF
}

// recover handles a finding the decoder could not read: it skips the rest of
// the element with a plain bracket-and-string scanner (constant memory),
// and starts a fresh decoder on what follows.
func (r *Reader) recover(index int, derr error) error {
	if r.f.srcErr != nil {
		r.state = stateDone
		return fmt.Errorf("read OCSF: %w", r.f.srcErr)
	}
	// The decoder stopped at the element's start (after the comma).
	at := r.dec.InputOffset() + r.delta
	buffered, _ := io.ReadAll(r.dec.Buffered())
	r.f.dec = nil
	r.f.unread(buffered)
	sk := skipper{f: r.f, off: at}
	start, end, err := sk.skipElement()
	if r.f.srcErr != nil {
		r.state = stateDone
		return fmt.Errorf("read OCSF: %w", r.f.srcErr)
	}
	kind, msg := KindSyntax, derr.Error()
	switch {
	case errors.Is(derr, errTooLarge):
		kind, msg = KindTooLarge, fmt.Sprintf("finding is over the %d byte limit", r.max)
	case errors.Is(derr, io.ErrUnexpectedEOF) || errors.Is(derr, io.EOF):
		kind, msg = KindTruncated, "the file ends inside this finding"
	}
	p := &Problem{Index: index, Offset: start, Kind: kind, Message: msg}
	if err != nil { // the file ended before the element did
		if kind != KindTooLarge {
			p.Kind, p.Message = KindTruncated, "the file ends inside this finding"
		}
		p.Fatal, p.End = true, r.f.total
		r.state = stateDone
		return p
	}
	switch end {
	case ',':
		r.newDecoder(sk.off, true)
	case ']':
		r.state = stateDone
		// Anything but whitespace after the array is reported next.
		for {
			b, err := sk.byte()
			if err != nil {
				break
			}
			if !isSpace(b) {
				r.trailing = &Problem{Index: -1, Offset: sk.off - 1, Kind: KindTrailingData, Message: "data after the end of the array"}
				break
			}
		}
		if r.f.srcErr != nil {
			return fmt.Errorf("read OCSF: %w", r.f.srcErr)
		}
	}
	return p
}

// parse validates one finding.
func parse(index int, offset int64, raw json.RawMessage) (Finding, error) {
	bad := func(kind ProblemKind, format string, args ...any) (Finding, error) {
		return Finding{}, &Problem{Index: index, Offset: offset, Kind: kind, Message: fmt.Sprintf(format, args...)}
	}
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "finding"
			}
			return bad(KindWrongType, "%s is a JSON %s, not a %s", field, te.Value, goKind(te.Type.String()))
		}
		return bad(KindSyntax, "%v", err)
	}
	if w.Metadata == nil || w.Metadata.EventCode == nil || *w.Metadata.EventCode == "" {
		return bad(KindMissingField, "metadata.event_code (the check id) is missing")
	}
	if !citadel.ValidID(*w.Metadata.EventCode) {
		return bad(KindInvalidField, "metadata.event_code %q is not a check id", clip(*w.Metadata.EventCode, 80))
	}
	if w.StatusCode == nil || *w.StatusCode == "" {
		return bad(KindMissingField, "status_code is missing")
	}
	if len(*w.StatusCode) > 32 {
		return bad(KindInvalidField, "status_code %q is not a status", clip(*w.StatusCode, 32))
	}
	if w.Resources == nil || len(*w.Resources) == 0 {
		return bad(KindMissingField, "resources is missing or empty")
	}
	if len(*w.Resources) > MaxResources {
		return bad(KindInvalidField, "%d resources, over the limit of %d", len(*w.Resources), MaxResources)
	}
	f := Finding{
		Index: index, Offset: offset, Raw: raw,
		CheckID: *w.Metadata.EventCode, StatusCode: *w.StatusCode,
		Status: clip(w.Status, 64), Severity: clip(w.Severity, 32),
	}
	f.StatusDetail, f.DetailTruncated = cut(w.StatusDetail, MaxDetailBytes)
	if w.Cloud != nil {
		f.Region = clip(w.Cloud.Region, 64)
		if w.Cloud.Account != nil {
			f.AccountUID = clip(w.Cloud.Account.UID, 64)
		}
	}
	f.Resources = make([]Resource, 0, len(*w.Resources))
	for i, res := range *w.Resources {
		if res == nil || res.UID == "" {
			return bad(KindMissingField, "resources[%d].uid is missing", i)
		}
		if len(res.UID) > MaxUIDBytes {
			return bad(KindInvalidField, "resources[%d].uid is %d bytes, over %d", i, len(res.UID), MaxUIDBytes)
		}
		r := *res
		r.Region = clip(r.Region, 64)
		if string(r.Data) == "null" {
			r.Data = nil
		}
		f.Resources = append(f.Resources, r)
	}
	return f, nil
}

func goKind(t string) string {
	switch {
	case t == "string":
		return "string"
	case strings.HasPrefix(t, "[]") || strings.HasPrefix(t, "*[]"):
		return "array"
	default:
		return "object"
	}
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
