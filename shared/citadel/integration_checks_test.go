package citadel_test

import (
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestIntegrationChecks: the optional check subset must name check ids,
// each once.
func TestIntegrationChecks(t *testing.T) {
	base := citadel.Integration{ID: "int-1", FolderID: "fld-1", AccountID: "111122223333"}
	cases := []struct {
		name   string
		checks []string
		err    string
	}{
		{name: "none"},
		{name: "a subset", checks: []string{"s3_bucket_default_encryption", "kms_cmk_rotation_enabled"}},
		{name: "an empty id", checks: []string{""}, err: `check "" is not a check id`},
		{name: "a space", checks: []string{"kms cmk"}, err: `check "kms cmk" is not a check id`},
		{name: "a repeat", checks: []string{"kms_cmk_rotation_enabled", "kms_cmk_rotation_enabled"}, err: "checks must not repeat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			in.Checks = tc.checks
			err := in.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !citadel.IsInvalid(err)):
				t.Errorf("error %v, want an invalid error with %q", err, tc.err)
			}
		})
	}
}
