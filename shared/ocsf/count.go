package ocsf

import (
	"errors"
	"io"
	"slices"
)

// MaxSample bounds the problems a Tally keeps by value; its counts stay exact.
const MaxSample = 10

// Tally counts what one read of a file returned: the one definition of the
// counts the Prowler task writes in its manifest and check-results checks
// against what it reads.
type Tally struct {
	// Findings are the findings that passed validation.
	Findings int
	// Malformed are the bad findings: every problem but trailing data.
	Malformed int
	// Trailing is set when bytes follow the array's end.
	Trailing bool
	// Sample is the first MaxSample problems, in file order.
	Sample []Problem
}

// Add counts one outcome of Reader.Next: nil for a finding, a *Problem for
// a bad one. It returns what ends the read: io.EOF at the end, an
// *UnreadableError when the file cannot be read at all (rd gives its size),
// the source's error as it is; nil to carry on.
func (t *Tally) Add(rd *Reader, err error) error {
	if err == nil {
		t.Findings++
		return nil
	}
	var p *Problem
	if !errors.As(err, &p) {
		return err // io.EOF or the source's error
	}
	if p.Fatal {
		return &UnreadableError{Problem: *p, Size: rd.BytesRead()}
	}
	if p.Malformed() {
		t.Malformed++
	} else {
		t.Trailing = true
	}
	if len(t.Sample) < MaxSample {
		t.Sample = append(t.Sample, *p)
	}
	return nil
}

// UnreadableError is a file that cannot be read at all: empty, not a JSON
// array, truncated, or an array broken beyond one finding. Nothing read
// from it should be trusted as the whole scan.
type UnreadableError struct {
	Problem Problem
	// Size is the number of bytes the file has (all were read).
	Size int64
}

// Reason is the rest of a sentence that starts with the file's name, e.g.
// "is truncated at byte 1234 (the file ends inside finding 7, ...)".
func (e *UnreadableError) Reason() string { return e.Problem.Reason() }

func (e *UnreadableError) Error() string { return "the OCSF file " + e.Reason() }

// Stats is what Count learns from an OCSF file.
type Stats struct {
	Tally
	// Checks are the distinct check ids (metadata.event_code) of the
	// findings, sorted.
	Checks []string
	// Statuses counts findings by status_code.
	Statuses map[string]int
	// Size is the file's size in bytes.
	Size int64
}

// Count reads a whole OCSF file with the Reader, one finding at a time (so
// memory stays flat), and counts good and malformed findings. Bad findings
// are counted, never fatal; the error is an *UnreadableError for a file
// that cannot be read at all, or the source's error.
func Count(r io.Reader, opts ...Option) (Stats, error) {
	st := Stats{Statuses: map[string]int{}}
	rd := NewReader(r, opts...)
	seen := map[string]bool{}
	for {
		f, next := rd.Next()
		if err := st.Add(rd, next); err == io.EOF {
			break
		} else if err != nil {
			return st, err // unreadable, or the source's error (already "read OCSF: ...")
		}
		if next != nil {
			continue // a bad finding, counted
		}
		st.Statuses[f.StatusCode]++
		if !seen[f.CheckID] {
			seen[f.CheckID] = true
			st.Checks = append(st.Checks, f.CheckID)
		}
	}
	st.Size = rd.BytesRead()
	slices.Sort(st.Checks)
	return st, nil
}
