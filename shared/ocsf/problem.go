package ocsf

import "fmt"

// ProblemKind classifies a bad finding or a bad file.
type ProblemKind string

// The problems the reader reports.
const (
	KindEmpty        ProblemKind = "empty"         // the file holds no JSON at all, not even [] (fatal)
	KindNotArray     ProblemKind = "not_array"     // the file is not a JSON array (fatal)
	KindTruncated    ProblemKind = "truncated"     // the file ends inside the array (fatal)
	KindSyntax       ProblemKind = "syntax"        // a finding is not valid JSON (fatal when the array itself is broken)
	KindTooLarge     ProblemKind = "too_large"     // a finding is over the size limit
	KindWrongType    ProblemKind = "wrong_type"    // a field has the wrong JSON type
	KindMissingField ProblemKind = "missing_field" // a required field is absent or empty
	KindInvalidField ProblemKind = "invalid_field" // a field's value is unusable
	KindTrailingData ProblemKind = "trailing_data" // bytes after the array
)

// Problem is a finding (or the file) that could not be read, and where.
type Problem struct {
	Index   int         `json:"index"`  // position in the array; -1 for the file
	Offset  int64       `json:"offset"` // byte offset where it starts
	Kind    ProblemKind `json:"kind"`
	Message string      `json:"message"`
	// Fatal problems end the file: nothing after them can be read, and
	// the file as a whole is unreadable (see Reason).
	Fatal bool `json:"fatal,omitempty"`
	// End is the file's size when the file ends too early (truncated).
	End int64 `json:"end,omitempty"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("finding %d at byte %d: %s: %s", p.Index, p.Offset, p.Kind, p.Message)
}

// Malformed reports whether p is a bad finding, as the Prowler task's
// manifest and check-results count them: every problem but data after the
// array's end.
func (p *Problem) Malformed() bool { return p.Kind != KindTrailingData }

// Reason says in words why a file with this fatal problem cannot be read,
// as the rest of a sentence that starts with the file's name:
// "is truncated at byte 1234 (...)".
func (p *Problem) Reason() string {
	switch p.Kind {
	case KindEmpty:
		return "is empty: " + p.Message
	case KindNotArray:
		return fmt.Sprintf("is not a JSON array of findings: %s (at byte %d)", p.Message, p.Offset)
	case KindTruncated, KindTooLarge:
		if p.Index >= 0 && p.Offset < p.End {
			what := "inside finding %d, which starts at byte %d"
			if p.Kind == KindTooLarge {
				what = "inside finding %d, which starts at byte %d and is over the size limit"
			}
			return fmt.Sprintf("is truncated at byte %d (the file ends "+what+")", p.End, p.Index, p.Offset)
		}
		return fmt.Sprintf("is truncated at byte %d (the array of findings is never closed, after %d elements)", p.End, max(p.Index, 0))
	default:
		return fmt.Sprintf("is not a well-formed JSON array at byte %d: %s", p.Offset, p.Message)
	}
}
