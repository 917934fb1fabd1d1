package ocsf_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/iotest"
	"time"

	"github.com/citadelsecure/citadel/shared/ocsf"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// FuzzReader: whatever the bytes, the reader ends, never panics, reports
// every element exactly once, hands back each finding as the file's exact
// bytes, and on a valid JSON array agrees with encoding/json element by
// element. Its walk accepts only what jsontext accepts (WithCrossCheck
// panics otherwise), and the same bytes read a few at a time give the same
// outcomes.
func FuzzReader(f *testing.F) {
	f.Add([]byte(`[` + finding("a") + `,` + finding("b") + `]`))
	f.Add([]byte(`[{"metadata":{"event_code":"c"},"status_code":tru},` + finding("b") + `]`))
	f.Add([]byte(`[1,"x",null,{},[]]`))
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte(`[{"a":"\"]}"}, {"b":[`))
	f.Add([]byte(`[` + finding("a") + `]junk`))
	var buf bytes.Buffer
	if _, err := ocsftest.Write(&buf, 3, ocsftest.Standard("a")); err == nil {
		f.Add(buf.Bytes())
	}
	if data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "..", "shared", "data", "prowler", "example_output_aws.ocsf.json")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("the reader hangs on %q", data)) })
		defer watchdog.Stop()
		const limit = 4 << 10
		r := ocsf.NewReader(bytes.NewReader(data), ocsf.WithMaxFindingBytes(limit), ocsf.WithCrossCheck())
		var elems []json.RawMessage // nil for a problem
		var kinds []ocsf.ProblemKind
		fatal := false
		for calls := 0; ; calls++ {
			if calls > len(data)+3 {
				t.Fatal("the reader does not end")
			}
			fd, err := r.Next()
			if err == io.EOF {
				break
			}
			var p *ocsf.Problem
			if errors.As(err, &p) {
				if p.Offset < 0 || p.Offset > int64(len(data)) {
					t.Fatalf("problem %v: offset outside the file", p)
				}
				if p.Index >= 0 {
					if p.Index != len(elems) {
						t.Fatalf("problem %v: index out of order, want %d", p, len(elems))
					}
					elems = append(elems, nil)
					kinds = append(kinds, p.Kind)
				}
				fatal = fatal || p.Fatal
				continue
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if fatal {
				t.Fatal("a finding after a fatal problem")
			}
			if fd.Index != len(elems) {
				t.Fatalf("finding index %d, want %d", fd.Index, len(elems))
			}
			end := fd.Offset + int64(len(fd.Raw))
			if fd.Offset < 0 || end > int64(len(data)) || !bytes.Equal(data[fd.Offset:end], fd.Raw) {
				t.Fatalf("finding %d: Raw is not the file's bytes at %d", fd.Index, fd.Offset)
			}
			if fd.CheckID == "" || fd.StatusCode == "" || len(fd.Resources) == 0 || len(fd.StatusDetail) > ocsf.MaxDetailBytes {
				t.Fatalf("finding %d passed validation incomplete: %+v", fd.Index, fd)
			}
			elems = append(elems, fd.Raw)
			kinds = append(kinds, "")
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next after the end: %v", err)
		}
		whole := outcomes(data, ocsf.WithMaxFindingBytes(limit))
		if pieces := outcomes(data, ocsf.WithMaxFindingBytes(limit), ocsf.WithReadSize(3)); !slices.Equal(whole, pieces) {
			t.Fatalf("read 3 bytes at a time: %q, whole: %q", pieces, whole)
		}
		var arr []json.RawMessage
		if json.Unmarshal(data, &arr) != nil {
			return
		}
		if len(elems) != len(arr) {
			t.Fatalf("valid array of %d elements, reader saw %d", len(arr), len(elems))
		}
		for i := range arr {
			switch kinds[i] {
			case ocsf.KindSyntax, ocsf.KindTruncated, ocsf.KindNotArray, ocsf.KindTrailingData:
				t.Fatalf("element %d of a valid array reported %s", i, kinds[i])
			case ocsf.KindTooLarge:
				if len(arr[i]) <= limit {
					t.Fatalf("element %d of %d bytes reported too large", i, len(arr[i]))
				}
			case "":
				if !bytes.Equal(elems[i], arr[i]) {
					t.Fatalf("element %d differs from encoding/json's", i)
				}
			}
		}
	})
}

// outcomes is what each Next call returns, in words.
func outcomes(data []byte, opts ...ocsf.Option) []string {
	r := ocsf.NewReader(iotest.HalfReader(bytes.NewReader(data)), opts...)
	var out []string
	for calls := 0; calls <= len(data)+3; calls++ {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		var p *ocsf.Problem
		if errors.As(err, &p) {
			out = append(out, fmt.Sprintf("%d %d %s %v %s", p.Index, p.Offset, p.Kind, p.Fatal, p.Message))
			continue
		}
		out = append(out, fmt.Sprintf("%d %d %q %v", f.Index, f.Offset, f.Raw, err))
	}
	return out
}
