package citadel_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestProwlerServicesOfARN(t *testing.T) {
	for _, tc := range []struct {
		arn  string
		want []string
	}{
		{"arn:aws:s3:::citadel-demo-logs", []string{"s3"}},
		{"arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc", []string{"ec2"}},
		{"arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1", []string{"ec2"}},
		{"arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-1", []string{"vpc"}},
		{"arn:aws:lambda:eu-west-1:111122223333:function:f", []string{"awslambda"}},
		{"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/x", []string{"cloudwatch"}},
		{"arn:aws-us-gov:iam::111122223333:role/r", []string{"iam"}},
		{"arn:aws:ec2:eu-west-1:111122223333:image/ami-1", nil}, // not inventoried
		{"arn:aws:glue:eu-west-1:111122223333:job/j", nil},      // not inventoried
		{"s3://bucket", nil},   // not an ARN
		{"arn:aws:s3:::", nil}, // no resource
	} {
		if diff := cmp.Diff(tc.want, citadel.ProwlerServicesOfARN(tc.arn)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.arn, diff)
		}
	}
}

func TestRecheckFileValidate(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	good := citadel.RecheckFile{IntegrationID: "int-1",
		ARNs:     []string{"arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-1", "arn:aws:s3:::b"},
		Services: []string{"s3", "vpc"}, Events: 3, FirstEventAt: at, LastEventAt: at.Add(time.Minute)}
	many := good
	many.ARNs = nil
	for i := range citadel.MaxRecheckResources + 1 {
		many.ARNs = append(many.ARNs, fmt.Sprintf("arn:aws:s3:::b%04d", i))
	}
	many.Services = []string{"s3"}
	for _, tc := range []struct {
		name string
		edit func(*citadel.RecheckFile)
		want string // "" valid
	}{
		{"valid", func(*citadel.RecheckFile) {}, ""},
		{"no integration", func(f *citadel.RecheckFile) { f.IntegrationID = "" }, "integration_id"},
		{"no resources", func(f *citadel.RecheckFile) { f.ARNs, f.Services = nil, nil }, "at least one resource"},
		{"unsorted", func(f *citadel.RecheckFile) { f.ARNs[0], f.ARNs[1] = f.ARNs[1], f.ARNs[0] }, "sorted and unique"},
		{"not re-checked", func(f *citadel.RecheckFile) {
			f.ARNs = append(f.ARNs, "arn:aws:tag:x:1:y")
		}, "not the ARN of a resource Citadel re-checks"},
		{"wrong services", func(f *citadel.RecheckFile) { f.Services = []string{"s3"} }, "services must be"},
		{"no events", func(f *citadel.RecheckFile) { f.Events = 0 }, "at least one event"},
		{"times reversed", func(f *citadel.RecheckFile) { f.LastEventAt = at.Add(-time.Second) }, "before first_event_at"},
		{"too many", func(f *citadel.RecheckFile) { *f = many }, "more than the 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := good
			f.ARNs = append([]string(nil), good.ARNs...)
			tc.edit(&f)
			err := f.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !citadel.IsInvalid(err)):
				t.Fatalf("Validate = %v, want an invalid error naming %q", err, tc.want)
			}
		})
	}
	r := good.Recheck("scans/s/recheck.json")
	if r.Resources != 2 || r.Events != 3 || r.Key != "scans/s/recheck.json" || !good.Covers("arn:aws:s3:::b") || good.Covers("arn:aws:s3:::c") {
		t.Fatalf("Recheck = %+v", r)
	}
}

func TestChangeEventSources(t *testing.T) {
	want := []string{"aws.cloudtrail", "aws.dynamodb", "aws.ec2", "aws.ecs", "aws.elasticloadbalancing", "aws.iam", "aws.kms",
		"aws.lambda", "aws.logs", "aws.rds", "aws.s3", "aws.secretsmanager", "aws.sns", "aws.sqs"}
	if diff := cmp.Diff(want, citadel.ChangeEventSources()); diff != "" {
		t.Errorf("ChangeEventSources (-want +got):\n%s", diff)
	}
}
