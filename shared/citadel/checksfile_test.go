package citadel

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseChecksFile(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      string
	}{
		{"two checks", `{"aws":["s3_bucket_default_encryption","iam_root_mfa_enabled"]}`, []string{"s3_bucket_default_encryption", "iam_root_mfa_enabled"}, ""},
		{"not JSON", `{"aws":[`, nil, `checks file is not {"aws": [...]}`},
		{"wrong type", `{"aws":"s3"}`, nil, `checks file is not {"aws": [...]}`},
		{"no checks", `{"aws":[]}`, nil, "checks file lists no AWS checks"},
		{"other provider only", `{"azure":["x"]}`, nil, "checks file lists no AWS checks"},
		{"an empty id", `{"aws":["a"," "]}`, nil, "checks file: check 1 is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cf, err := ParseChecksFile([]byte(tc.in))
			if tc.err != "" {
				if !IsInvalid(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want invalid with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, cf.AWS); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
