package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// GET /checks/{id}: a check's metadata as the import stored it, with the
// frameworks of its requirements; an unknown id a 404 naming it, a
// malformed one a 400.
func TestGetCheck(t *testing.T) {
	f := newFixture(t)
	full := citadel.SecurityCheck{
		ID: "s3_bucket_default_encryption", Title: "S3 bucket has default encryption", Service: "s3", SubService: "bucket",
		ResourceType: "AwsS3Bucket", Severity: citadel.SeverityMedium, Categories: []string{"encryption"},
		Description: "Buckets encrypt new objects by default.", Risk: "Objects at rest may be read.",
		Remediation: citadel.Remediation{Text: "Turn on default encryption.", URL: "https://hub.prowler.com/check/s3_bucket_default_encryption",
			CLI: "aws s3api put-bucket-encryption ...", Terraform: "resource \"aws_s3_bucket_server_side_encryption_configuration\" ...",
			NativeIaC: "BucketEncryption: ...", Other: "1. Open the bucket ..."},
		RelatedURLs:        []string{"https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html"},
		MappedRequirements: []string{"soc2:cc_6_1", "cis_2.0:2.1.1", "soc2:cc_6_7"},
		ProwlerVersion:     "5.40.0",
	}
	bare := citadel.SecurityCheck{ID: "ec2_old_check", Title: "[DEPRECATED] An old EC2 check", Service: "ec2", Severity: citadel.SeverityLow, Deprecated: true}
	if err := f.store.PutChecks(context.Background(), []citadel.SecurityCheck{full, bare}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path   string
		status       int
		want         *CheckDetail
		code, reason string
		wantBody     string // a part of the raw body
	}{
		{name: "every field", path: "/checks/s3_bucket_default_encryption", status: http.StatusOK,
			want: &CheckDetail{SecurityCheck: full, Frameworks: []string{"cis_2.0", "soc2"}}},
		{name: "no mappings: empty frameworks", path: "/checks/ec2_old_check", status: http.StatusOK,
			want: &CheckDetail{SecurityCheck: bare, Frameworks: []string{}}, wantBody: `"frameworks":[]`},
		{name: "unknown", path: "/checks/s3_nope", status: http.StatusNotFound, code: "not_found", reason: "security check s3_nope not found"},
		{name: "malformed", path: "/checks/s3%20bucket", status: http.StatusBadRequest, code: "invalid", reason: `parameter "id"`},
		{name: "too long", path: "/checks/" + strings.Repeat("x", 129), status: http.StatusBadRequest, code: "invalid", reason: `parameter "id"`},
		{name: "a dot segment", path: "/checks/..", status: http.StatusBadRequest, code: "invalid", reason: "path has a .. segment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do("GET", tc.path, "")
			expect(t, rec, tc.status, tc.code, tc.reason)
			if tc.want != nil {
				if d := cmp.Diff(*tc.want, decodeBody[CheckDetail](t, rec)); d != "" {
					t.Errorf("check (-want +got):\n%s", d)
				}
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("body %s, want it to contain %s", rec.Body.String(), tc.wantBody)
			}
		})
	}
}
