package ocsf_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/ocsf"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestCount: bad findings are counted (with a bounded sample) and never
// fatal; only a file that cannot be read at all is an error, whose reason
// says what is wrong and where.
func TestCount(t *testing.T) {
	example, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "prowler", "example_output_aws.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	good := finding("s3_ok")
	wrongType := `{"metadata":"x","status_code":"PASS","resources":[{"uid":"u"}]}`
	nan := `{"metadata":{"event_code":"c"},"status_code":"PASS","risk":NaN,"resources":[{"uid":"u"}]}`
	deep := `{"metadata":{"event_code":"c"},"status_code":"PASS","resources":[{"uid":"u","data":` +
		strings.Repeat(`[`, 12000) + strings.Repeat(`]`, 12000) + `}]}`
	mixed, offs := doc(good, wrongType, nan, deep, finding("s3_two"))
	many := []string{good}
	for i := 0; i < 25; i++ {
		many = append(many, wrongType)
	}
	manyDoc, _ := doc(many...)
	withTrailing, _ := doc(good)
	withTrailing = append(withTrailing, "junk"...)

	cases := []struct {
		name string
		in   string
		want ocsf.Stats
	}{
		{name: "Prowler's example output", in: string(example), want: ocsf.Stats{Tally: ocsf.Tally{Findings: 5},
			Checks: []string{"accessanalyzer_enabled", "account_maintain_current_contact_details",
				"account_maintain_different_contact_details_to_security_billing_and_operations",
				"account_security_contact_information_is_registered", "account_security_questions_are_registered_in_the_aws_account"},
			Statuses: map[string]int{"FAIL": 2, "MANUAL": 3}, Size: int64(len(example))}},
		{name: "Prowler's example output after a byte order mark", in: bom + string(example), want: ocsf.Stats{Tally: ocsf.Tally{Findings: 5},
			Checks: []string{"accessanalyzer_enabled", "account_maintain_current_contact_details",
				"account_maintain_different_contact_details_to_security_billing_and_operations",
				"account_security_contact_information_is_registered", "account_security_questions_are_registered_in_the_aws_account"},
			Statuses: map[string]int{"FAIL": 2, "MANUAL": 3}, Size: int64(len(example) + 3)}},
		{name: "empty array", in: " [ ] ", want: ocsf.Stats{Statuses: map[string]int{}, Size: 5}},
		{name: "same check twice", in: "[" + good + "," + strings.Replace(good, "PASS", "FAIL", 1) + "]",
			want: ocsf.Stats{Tally: ocsf.Tally{Findings: 2}, Checks: []string{"s3_ok"}, Statuses: map[string]int{"PASS": 1, "FAIL": 1}, Size: int64(2*len(good) + 3)}},
		{name: "wrong type, NaN, deep nesting among good findings", in: string(mixed), want: ocsf.Stats{
			Tally: ocsf.Tally{Findings: 2, Malformed: 3, Sample: []ocsf.Problem{
				{Index: 1, Offset: offs[1], Kind: ocsf.KindWrongType}, {Index: 2, Offset: offs[2], Kind: ocsf.KindSyntax},
				{Index: 3, Offset: offs[3], Kind: ocsf.KindSyntax}}},
			Checks: []string{"s3_ok", "s3_two"}, Statuses: map[string]int{"PASS": 2}, Size: int64(len(mixed))}},
		{name: "the sample is bounded, the count is not", in: string(manyDoc), want: ocsf.Stats{
			Tally:  ocsf.Tally{Findings: 1, Malformed: 25, Sample: sampleOf(manyDoc, 10)},
			Checks: []string{"s3_ok"}, Statuses: map[string]int{"PASS": 1}, Size: int64(len(manyDoc))}},
		{name: "trailing data is noted, not malformed", in: string(withTrailing), want: ocsf.Stats{
			Tally:  ocsf.Tally{Findings: 1, Trailing: true, Sample: []ocsf.Problem{{Index: -1, Offset: int64(len(withTrailing) - 4), Kind: ocsf.KindTrailingData}}},
			Checks: []string{"s3_ok"}, Statuses: map[string]int{"PASS": 1}, Size: int64(len(withTrailing))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ocsf.Count(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(ocsf.Problem{}, "Message")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, p := range got.Sample {
				if p.Message == "" {
					t.Errorf("problem %+v has no message", p)
				}
			}
		})
	}
}

// sampleOf is the first n problems of a doc whose elements after the first are all wrongType.
func sampleOf(d []byte, n int) []ocsf.Problem {
	var out []ocsf.Problem
	for i, off := 1, 0; i <= n; i++ {
		at := strings.Index(string(d[off:]), `{"metadata":"x"`) + off
		out = append(out, ocsf.Problem{Index: i, Offset: int64(at), Kind: ocsf.KindWrongType})
		off = at + 1
	}
	return out
}

// TestCountUnreadable: each kind of file that cannot be read at all is an
// *UnreadableError whose reason names what is wrong and the byte.
func TestCountUnreadable(t *testing.T) {
	good := finding("s3_ok")
	two, offs := doc(good, finding("s3_two"))
	big := `{"metadata":{"event_code":"c"},"status_code":"PASS","status_detail":"` + strings.Repeat("A", 2<<20)
	cases := []struct {
		name, in string
		kind     ocsf.ProblemKind
		reason   string
	}{
		{"empty file", "", ocsf.KindEmpty, "is empty: the file has no bytes (no JSON array, not even [])"},
		{"whitespace only", " \n\t", ocsf.KindEmpty, "is empty: the file's 3 bytes are only whitespace (no JSON array, not even [])"},
		{"a byte order mark only", bom, ocsf.KindEmpty, "is empty: the file's 3 bytes are only whitespace (no JSON array, not even [])"},
		{"an object, not an array", ` {"findings": []}`, ocsf.KindNotArray, "is not a JSON array of findings: it starts with { (at byte 1)"},
		{"a string, not an array", `"findings"`, ocsf.KindNotArray, "is not a JSON array of findings: it starts with a string (at byte 0)"},
		{"not JSON", "<html>", ocsf.KindNotArray, "is not a JSON array of findings: it is not JSON (at byte 0)"},
		{"truncated inside a finding", string(two[:offs[1]+30]), ocsf.KindTruncated,
			"is truncated at byte " + itoa(offs[1]+30) + " (the file ends inside finding 1, which starts at byte " + itoa(offs[1]) + ")"},
		{"truncated after a comma", string(two[:offs[1]]), ocsf.KindTruncated,
			"is truncated at byte " + itoa(offs[1]) + " (the array of findings is never closed, after 1 elements)"},
		{"truncated before the closing bracket", string(two[:len(two)-3]), ocsf.KindTruncated,
			"is truncated at byte " + itoa(int64(len(two)-3)) + " (the array of findings is never closed, after 2 elements)"},
		{"truncated inside a finding over the size limit", "[" + good + "," + big, ocsf.KindTooLarge,
			"is truncated at byte " + itoa(int64(len(good)+2+len(big))) + " (the file ends inside finding 1, which starts at byte " + itoa(int64(len(good)+2)) + " and is over the size limit)"},
		{"an object's brace closes the array", "[" + good + "}", ocsf.KindSyntax,
			"is not a well-formed JSON array at byte " + itoa(int64(len(good)+1)) + ": expected the end of the array: invalid character '}' after array element"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ocsf.Count(strings.NewReader(tc.in), ocsf.WithMaxFindingBytes(1<<20))
			var ue *ocsf.UnreadableError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v, want an *UnreadableError", err)
			}
			if ue.Problem.Kind != tc.kind || !ue.Problem.Fatal || ue.Size != int64(len(tc.in)) {
				t.Errorf("problem %+v, size %d; want kind %s, fatal, size %d", ue.Problem, ue.Size, tc.kind, len(tc.in))
			}
			if d := cmp.Diff(tc.reason, ue.Reason()); d != "" {
				t.Errorf("reason (-want +got):\n%s", d)
			}
			if d := cmp.Diff("the OCSF file "+tc.reason, err.Error()); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
