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
		arns     []string
		err      string
	}{
		{"two checks", `{"aws":["s3_bucket_default_encryption","iam_root_mfa_enabled"]}`, []string{"s3_bucket_default_encryption", "iam_root_mfa_enabled"}, nil, ""},
		{"not JSON", `{"aws":[`, nil, nil, `checks file is not {"aws": [...]}`},
		{"wrong type", `{"aws":"s3"}`, nil, nil, `checks file is not {"aws": [...]}`},
		{"no checks", `{"aws":[]}`, nil, nil, "checks file lists no AWS checks"},
		{"other provider only", `{"azure":["x"]}`, nil, nil, "checks file lists no AWS checks"},
		{"an empty id", `{"aws":["a"," "]}`, nil, nil, "checks file: check 1 is empty"},
		{"a re-check's resources", `{"aws":["s3_bucket_default_encryption"],"resource_arns":["arn:aws:s3:::logs"]}`,
			[]string{"s3_bucket_default_encryption"}, []string{"arn:aws:s3:::logs"}, ""},
		{"a resource that is no ARN", `{"aws":["a"],"resource_arns":["arn:aws:s3:::logs","bucket"]}`, nil, nil, `resource_arns[1] "bucket" is not an ARN`},
		{"an ARN with a space", `{"aws":["a"],"resource_arns":["arn:aws:s3:::logs -f"]}`, nil, nil, `resource_arns[0] "arn:aws:s3:::logs -f" is not an ARN`},
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
			if d := cmp.Diff(ChecksFile{AWS: tc.want, ResourceARNs: tc.arns}, cf); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
