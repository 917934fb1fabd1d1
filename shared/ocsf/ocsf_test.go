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
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/ocsf"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// outcome is one element as the reader reported it.
type outcome struct {
	Index  int
	Offset int64
	Check  string // a finding's check
	Kind   ocsf.ProblemKind
	Fatal  bool
}

// readAll reads a whole document and checks every finding's Raw is the
// exact bytes at its offset, and that reading it in small pieces (findings
// crossing the reader's window) gives the same outcomes.
func readAll(t *testing.T, doc []byte, opts ...ocsf.Option) []outcome {
	t.Helper()
	opts = slices.Clip(opts)
	out := readWith(t, bytes.NewReader(doc), doc, append(opts, ocsf.WithCrossCheck())...)
	for _, n := range []int{2, 7, 1000} {
		small := readWith(t, iotest.HalfReader(bytes.NewReader(doc)), doc, append(opts, ocsf.WithReadSize(n))...)
		if diff := cmp.Diff(out, small); diff != "" {
			t.Errorf("read %d bytes at a time (-whole +pieces):\n%s", n, diff)
		}
	}
	return out
}

func readWith(t *testing.T, src io.Reader, doc []byte, opts ...ocsf.Option) []outcome {
	t.Helper()
	r := ocsf.NewReader(src, opts...)
	var out []outcome
	for i := 0; ; i++ {
		if i > len(doc)+10 {
			t.Fatal("reader does not end")
		}
		f, err := r.Next()
		if err == io.EOF {
			return out
		}
		var p *ocsf.Problem
		if errors.As(err, &p) {
			out = append(out, outcome{Index: p.Index, Offset: p.Offset, Kind: p.Kind, Fatal: p.Fatal})
			if p.Offset < 0 || p.Offset > int64(len(doc)) {
				t.Errorf("problem %v: offset out of the file", p)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !bytes.Equal(doc[f.Offset:f.Offset+int64(len(f.Raw))], f.Raw) {
			t.Errorf("finding %d: Raw is not the file's bytes at offset %d", f.Index, f.Offset)
		}
		out = append(out, outcome{Index: f.Index, Offset: f.Offset, Check: f.CheckID})
	}
}

// bom is UTF-8's byte order mark.
const bom = "\xEF\xBB\xBF"

func finding(check string) string {
	return fmt.Sprintf(`{"metadata":{"event_code":%q},"status_code":"PASS","status":"New","resources":[{"uid":"arn:aws:s3:::b","data":{"x":1}}]}`, check)
}

// doc joins elements into an array and returns each element's offset.
func doc(elems ...string) ([]byte, []int64) {
	var b strings.Builder
	b.WriteString("[\n  ")
	offs := make([]int64, len(elems))
	for i, e := range elems {
		if i > 0 {
			b.WriteString(",\n  ")
		}
		offs[i] = int64(b.Len())
		b.WriteString(e)
	}
	b.WriteString("\n]\n")
	return []byte(b.String()), offs
}

func TestExampleOutput(t *testing.T) {
	path := filepath.Join(testenv.SharedData(t), "prowler", "example_output_aws.ocsf.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := ocsf.NewReader(bytes.NewReader(data))
	type got struct {
		Check, Status, StatusCode, UID string
		Muted, HasData                 bool
	}
	var all []got
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range f.Resources {
			all = append(all, got{f.CheckID, f.Status, f.StatusCode, res.UID, f.Muted(), len(res.Data) > 0})
		}
		if f.StatusDetail == "" || f.Severity == "" {
			t.Errorf("finding %d: status_detail or severity missing", f.Index)
		}
	}
	want := []got{
		{"accessanalyzer_enabled", "New", "FAIL", "<resource_uid>", false, true},
		{"account_maintain_current_contact_details", "New", "MANUAL", "arn:aws:iam::<account_uid>:root", false, true},
		{"account_maintain_different_contact_details_to_security_billing_and_operations", "New", "FAIL", "arn:aws:iam::<account_uid>:root", false, true},
		{"account_security_contact_information_is_registered", "New", "MANUAL", "arn:aws:iam::<account_uid>:root", false, true},
		{"account_security_questions_are_registered_in_the_aws_account", "New", "MANUAL", "arn:aws:iam::<account_uid>:root", false, true},
	}
	if d := cmp.Diff(want, all); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
}

func TestHostileInput(t *testing.T) {
	good := finding("s3_ok")
	wrongStatus := `{"metadata":{"event_code":"c"},"status_code":5,"resources":[{"uid":"u"}]}`
	wrongResources := `{"metadata":{"event_code":"c"},"status_code":"PASS","resources":"arn:aws:s3:::b"}`
	wrongMetadata := `{"metadata":[1,2],"status_code":"PASS","resources":[{"uid":"u"}]}`
	noCheck := `{"metadata":{"product":{}},"status_code":"PASS","resources":[{"uid":"u"}]}`
	noStatus := `{"metadata":{"event_code":"c"},"resources":[{"uid":"u"}]}`
	noResources := `{"metadata":{"event_code":"c"},"status_code":"PASS","resources":[]}`
	noUID := `{"metadata":{"event_code":"c"},"status_code":"PASS","resources":[{"region":"x"}]}`
	badCheck := `{"metadata":{"event_code":"../etc/passwd"},"status_code":"PASS","resources":[{"uid":"u"}]}`
	syntax := `{"metadata":{"event_code":"c"},"status_code":tru,"resources":[{"uid":"u"}]}`
	nullElem := `null`

	tests := []struct {
		name  string
		build func() ([]byte, []outcome)
	}{
		{"empty file", func() ([]byte, []outcome) {
			return nil, []outcome{{Index: -1, Offset: 0, Kind: ocsf.KindEmpty, Fatal: true}}
		}},
		{"whitespace only", func() ([]byte, []outcome) {
			return []byte(" \n "), []outcome{{Index: -1, Offset: 3, Kind: ocsf.KindEmpty, Fatal: true}}
		}},
		{"a byte order mark only", func() ([]byte, []outcome) {
			return []byte(bom), []outcome{{Index: -1, Offset: 3, Kind: ocsf.KindEmpty, Fatal: true}}
		}},
		{"a leading byte order mark is skipped", func() ([]byte, []outcome) {
			d, offs := doc(good, finding("s3_two"))
			return append([]byte(bom), d...), []outcome{{0, offs[0] + 3, "s3_ok", "", false}, {1, offs[1] + 3, "s3_two", "", false}}
		}},
		{"half a byte order mark", func() ([]byte, []outcome) {
			d, _ := doc(good)
			return append([]byte(bom[:2]), d...), []outcome{{Index: -1, Offset: 0, Kind: ocsf.KindNotArray, Fatal: true}}
		}},
		{"a byte order mark after whitespace", func() ([]byte, []outcome) {
			d, _ := doc(good)
			return append([]byte(" "+bom), d...), []outcome{{Index: -1, Offset: 1, Kind: ocsf.KindNotArray, Fatal: true}}
		}},
		{"NaN and Infinity in a finding", func() ([]byte, []outcome) {
			nan := `{"metadata":{"event_code":"c"},"status_code":"PASS","risk_score":NaN,"resources":[{"uid":"u"}]}`
			inf := `{"metadata":{"event_code":"c"},"status_code":"PASS","resources":[{"uid":"u","data":{"x":-Infinity}}]}`
			d, offs := doc(good, nan, inf, finding("s3_after"))
			return d, []outcome{{0, offs[0], "s3_ok", "", false}, {Index: 1, Offset: offs[1], Kind: ocsf.KindSyntax},
				{Index: 2, Offset: offs[2], Kind: ocsf.KindSyntax}, {3, offs[3], "s3_after", "", false}}
		}},
		{"nesting deeper than the decoder allows", func() ([]byte, []outcome) {
			deep := `{"metadata":{"event_code":"c"},"status_code":"PASS","resources":[{"uid":"u","data":` +
				strings.Repeat(`{"a":[`, 6000) + strings.Repeat(`]}`, 6000) + `}]}`
			d, offs := doc(good, deep, finding("s3_after"))
			return d, []outcome{{0, offs[0], "s3_ok", "", false}, {Index: 1, Offset: offs[1], Kind: ocsf.KindSyntax}, {2, offs[2], "s3_after", "", false}}
		}},
		{"empty array", func() ([]byte, []outcome) { return []byte("[ ]"), nil }},
		{"object, not an array", func() ([]byte, []outcome) {
			return []byte(" " + good), []outcome{{Index: -1, Offset: 1, Kind: ocsf.KindNotArray, Fatal: true}}
		}},
		{"number, not an array", func() ([]byte, []outcome) {
			return []byte("42"), []outcome{{Index: -1, Offset: 0, Kind: ocsf.KindNotArray, Fatal: true}}
		}},
		{"garbage, not JSON", func() ([]byte, []outcome) {
			return []byte("  <html>"), []outcome{{Index: -1, Offset: 2, Kind: ocsf.KindNotArray, Fatal: true}}
		}},
		{"truncated inside the second finding", func() ([]byte, []outcome) {
			d, offs := doc(good, finding("s3_two"), good)
			cut := offs[1] + 30
			return d[:cut], []outcome{{0, offs[0], "s3_ok", "", false}, {Index: 1, Offset: offs[1], Kind: ocsf.KindTruncated, Fatal: true}}
		}},
		{"truncated after a comma", func() ([]byte, []outcome) {
			d, offs := doc(good, good)
			cut := offs[1]
			return d[:cut], []outcome{{0, offs[0], "s3_ok", "", false}, {Index: 1, Offset: int64(cut), Kind: ocsf.KindTruncated, Fatal: true}}
		}},
		{"truncated before the closing bracket", func() ([]byte, []outcome) {
			d, offs := doc(good)
			cut := len(d) - 3
			return d[:cut], []outcome{{0, offs[0], "s3_ok", "", false}, {Index: 1, Offset: int64(cut), Kind: ocsf.KindTruncated, Fatal: true}}
		}},
		{"wrong types, missing fields, bad elements among good ones", func() ([]byte, []outcome) {
			elems := []string{good, wrongStatus, wrongResources, wrongMetadata, noCheck, noStatus, noResources, noUID, badCheck, `42`, `"s"`, nullElem, finding("s3_last")}
			d, offs := doc(elems...)
			kinds := []ocsf.ProblemKind{"", ocsf.KindWrongType, ocsf.KindWrongType, ocsf.KindWrongType, ocsf.KindMissingField, ocsf.KindMissingField,
				ocsf.KindMissingField, ocsf.KindMissingField, ocsf.KindInvalidField, ocsf.KindWrongType, ocsf.KindWrongType, ocsf.KindMissingField, ""}
			var want []outcome
			for i, k := range kinds {
				o := outcome{Index: i, Offset: offs[i], Kind: k}
				if k == "" {
					var f struct {
						Metadata struct {
							EventCode string `json:"event_code"`
						}
					}
					_ = json.Unmarshal([]byte(elems[i]), &f)
					o.Check = f.Metadata.EventCode
				}
				want = append(want, o)
			}
			return d, want
		}},
		{"syntax error inside a finding", func() ([]byte, []outcome) {
			d, offs := doc(good, syntax, `{"a":[1,{"b":"]}\""}]`+"x}", finding("s3_after"))
			return d, []outcome{{0, offs[0], "s3_ok", "", false}, {Index: 1, Offset: offs[1], Kind: ocsf.KindSyntax},
				{Index: 2, Offset: offs[2], Kind: ocsf.KindSyntax}, {3, offs[3], "s3_after", "", false}}
		}},
		{"syntax error in the last finding", func() ([]byte, []outcome) {
			d, offs := doc(good, syntax)
			return d, []outcome{{0, offs[0], "s3_ok", "", false}, {Index: 1, Offset: offs[1], Kind: ocsf.KindSyntax}}
		}},
		{"missing comma", func() ([]byte, []outcome) {
			d := []byte("[" + good + " " + finding("s3_b") + "," + finding("s3_c") + "]")
			return d, []outcome{{0, 1, "s3_ok", "", false}, {Index: 1, Offset: int64(len(good) + 2), Kind: ocsf.KindSyntax},
				{2, int64(2*len(good) + 2), "s3_c", "", false}}
		}},
		{"ten megabyte string", func() ([]byte, []outcome) {
			big := `{"metadata":{"event_code":"c"},"status_code":"PASS","status_detail":"` + strings.Repeat("A", 10<<20) + `","resources":[{"uid":"u"}]}`
			d, offs := doc(good, big, finding("s3_after"))
			return d, []outcome{{0, offs[0], "s3_ok", "", false}, {Index: 1, Offset: offs[1], Kind: ocsf.KindTooLarge}, {2, offs[2], "s3_after", "", false}}
		}},
		{"ten megabyte string in the last finding, truncated", func() ([]byte, []outcome) {
			big := `{"metadata":{"event_code":"c"},"status_code":"PASS","status_detail":"` + strings.Repeat("A", 10<<20)
			d := []byte("[" + good + "," + big)
			return d, []outcome{{0, 1, "s3_ok", "", false}, {Index: 1, Offset: int64(len(good) + 2), Kind: ocsf.KindTooLarge, Fatal: true}}
		}},
		{"trailing data", func() ([]byte, []outcome) {
			d, offs := doc(good)
			d = append(d, "junk"...)
			return d, []outcome{{0, offs[0], "s3_ok", "", false}, {Index: -1, Offset: int64(len(d) - 4), Kind: ocsf.KindTrailingData}}
		}},
		{"trailing data after a bad last finding", func() ([]byte, []outcome) {
			d, offs := doc(good, syntax)
			d = append(d, "]"...)
			return d, []outcome{{0, offs[0], "s3_ok", "", false}, {Index: 1, Offset: offs[1], Kind: ocsf.KindSyntax}, {Index: -1, Offset: int64(len(d) - 1), Kind: ocsf.KindTrailingData}}
		}},
		{"an object's closing brace in place of the array's", func() ([]byte, []outcome) {
			d := []byte("[" + good + "}")
			return d, []outcome{{0, 1, "s3_ok", "", false}, {Index: 1, Offset: int64(len(d) - 1), Kind: ocsf.KindSyntax, Fatal: true}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, want := tt.build()
			got := readAll(t, d, ocsf.WithMaxFindingBytes(1<<20))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLongDetailIsCut(t *testing.T) {
	detail := strings.Repeat("é", ocsf.MaxDetailBytes) // 2 bytes a rune
	d, _ := doc(`{"metadata":{"event_code":"c"},"status_code":"FAIL","status":"Suppressed","status_detail":"` + detail + `","resources":[{"uid":"arn:aws:s3:::b","data":null}]}`)
	f, err := ocsf.NewReader(bytes.NewReader(d)).Next()
	if err != nil {
		t.Fatal(err)
	}
	if !f.DetailTruncated || len(f.StatusDetail) != ocsf.MaxDetailBytes || !strings.HasSuffix(f.StatusDetail, "é") {
		t.Errorf("detail: truncated=%v len=%d", f.DetailTruncated, len(f.StatusDetail))
	}
	if !f.Muted() || f.Resources[0].Data != nil {
		t.Errorf("muted=%v data=%s", f.Muted(), f.Resources[0].Data)
	}
}

// TestManyBadFindings: recovery does not pile up state per bad finding.
func TestManyBadFindings(t *testing.T) {
	elems := make([]string, 0, 20001)
	for i := 0; i < 20000; i++ {
		elems = append(elems, `{"metadata":{"event_code":"c"},"status_code":tru}`)
	}
	elems = append(elems, finding("s3_last"))
	d, _ := doc(elems...)
	got := readAll(t, d)
	if len(got) != 20001 || got[20000].Check != "s3_last" {
		t.Fatalf("got %d outcomes, last %+v", len(got), got[len(got)-1])
	}
}

type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// TestSourceErrorIsNotAProblem: a network failure is returned as itself, so
// the step can retry, never counted as a bad finding.
func TestSourceErrorIsNotAProblem(t *testing.T) {
	var buf bytes.Buffer
	if _, err := ocsftest.Write(&buf, 50, ocsftest.Standard("a")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("connection reset")
	r := ocsf.NewReader(&failingReader{r: &buf, n: buf.Len() / 2, err: boom})
	n := 0
	for {
		_, err := r.Next()
		if err == nil {
			n++
			continue
		}
		var p *ocsf.Problem
		if errors.As(err, &p) {
			t.Fatalf("got problem %v, want the source error", p)
		}
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want the source error", err)
		}
		break
	}
	if n == 0 || n >= 50 {
		t.Errorf("read %d findings before the failure", n)
	}
}

func TestGeneratedFile(t *testing.T) {
	var buf bytes.Buffer
	size, err := ocsftest.Write(&buf, 1000, ocsftest.Standard("acct"))
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(buf.Len()) {
		t.Errorf("Write says %d bytes, wrote %d", size, buf.Len())
	}
	got := readAll(t, buf.Bytes())
	if len(got) != 1000 {
		t.Fatalf("read %d findings, want 1000", len(got))
	}
	for i, o := range got {
		if o.Kind != "" || o.Check != ocsftest.Checks[i%len(ocsftest.Checks)] {
			t.Fatalf("finding %d: %+v", i, o)
		}
	}
}
