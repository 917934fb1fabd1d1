package prowlerrun_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/prowlerrun"
	"github.com/citadelsecure/citadel/shared/testenv"
)

func TestCountOCSF(t *testing.T) {
	example, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "prowler", "example_output_aws.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   string
		want prowlerrun.OCSFStats
		err  string
	}{
		{name: "Prowler's example output", in: string(example), want: prowlerrun.OCSFStats{Findings: 5,
			Checks: []string{"accessanalyzer_enabled", "account_maintain_current_contact_details",
				"account_maintain_different_contact_details_to_security_billing_and_operations",
				"account_security_contact_information_is_registered", "account_security_questions_are_registered_in_the_aws_account"},
			Statuses: map[string]int{"FAIL": 2, "MANUAL": 3}}},
		{name: "empty file", in: "", want: prowlerrun.OCSFStats{Statuses: map[string]int{}}},
		{name: "empty array", in: " [ ] ", want: prowlerrun.OCSFStats{Statuses: map[string]int{}}},
		{name: "same check twice", in: `[{"metadata":{"event_code":"a"},"status_code":"PASS"},{"metadata":{"event_code":"a"},"status_code":"FAIL"}]`,
			want: prowlerrun.OCSFStats{Findings: 2, Checks: []string{"a"}, Statuses: map[string]int{"PASS": 1, "FAIL": 1}}},
		{name: "not an array", in: `{"findings": []}`, err: "not a JSON array"},
		{name: "truncated", in: `[{"metadata":{"event_code":"a"}},`, err: "read OCSF finding 1"},
		{name: "unterminated", in: `[{"metadata":{"event_code":"a"}}`, err: "unterminated array after 1 findings"},
		{name: "wrong type", in: `[{"metadata":"x"}]`, err: "read OCSF finding 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := prowlerrun.CountOCSF(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
