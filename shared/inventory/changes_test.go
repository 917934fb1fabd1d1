package inventory_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
)

// The files under testdata/changes are CloudTrail management events as
// EventBridge delivers them (the shape of AWS's documented examples).
func TestChangedARNsOfRecordedEvents(t *testing.T) {
	for _, tc := range []struct {
		file string
		at   time.Time
		want []string
	}{
		{"s3-delete-public-access-block.json", time.Date(2026, 12, 3, 9, 0, 1, 0, time.UTC),
			[]string{"arn:aws:s3:::citadel-demo-logs"}},
		{"ec2-authorize-ingress.json", time.Date(2026, 12, 3, 9, 4, 58, 0, time.UTC),
			[]string{"arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f60718"}},
		{"ec2-run-instances.json", time.Date(2026, 12, 3, 9, 5, 59, 0, time.UTC), []string{
			"arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0",
			"arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef1",
			"arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0aa11bb22cc33dd44"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "changes", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := inventory.ParseChangeEvent(b)
			if err != nil {
				t.Fatalf("ParseChangeEvent: %v", err)
			}
			if !ev.Changes() || !ev.At().Equal(tc.at) {
				t.Errorf("Changes() = %v, At() = %v; want true, %v", ev.Changes(), ev.At(), tc.at)
			}
			if diff := cmp.Diff(tc.want, inventory.ChangedARNs(ev)); diff != "" {
				t.Errorf("ChangedARNs (-want +got):\n%s", diff)
			}
		})
	}
}

func event(source, region string, req, resp map[string]any) inventory.ChangeEvent {
	ev := inventory.ChangeEvent{DetailType: citadel.CloudTrailDetailType, Source: source, Account: "111122223333", Region: region}
	ev.Detail.RequestParameters, ev.Detail.ResponseElements = req, resp
	return ev
}

func TestChangedARNs(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   inventory.ChangeEvent
		want []string
	}{
		{"s3 in another partition", event("aws.s3", "cn-north-1", map[string]any{"bucketName": "b"}, nil), []string{"arn:aws-cn:s3:::b"}},
		{"iam role by name", event("aws.iam", "us-east-1", map[string]any{"roleName": "deploy", "policyArn": "arn:aws:iam::111122223333:policy/p"}, nil),
			[]string{"arn:aws:iam::111122223333:policy/p", "arn:aws:iam::111122223333:role/deploy"}},
		{"iam created user's ARN from the response", event("aws.iam", "us-east-1", map[string]any{"userName": "bob"},
			map[string]any{"user": map[string]any{"arn": "arn:aws:iam::111122223333:user/team/bob"}}),
			[]string{"arn:aws:iam::111122223333:user/bob", "arn:aws:iam::111122223333:user/team/bob"}},
		{"lambda by name", event("aws.lambda", "eu-west-1", map[string]any{"functionName": "f"}, nil),
			[]string{"arn:aws:lambda:eu-west-1:111122223333:function:f"}},
		{"lambda by ARN", event("aws.lambda", "eu-west-1", map[string]any{"functionName": "arn:aws:lambda:eu-west-1:111122223333:function:g"}, nil),
			[]string{"arn:aws:lambda:eu-west-1:111122223333:function:g"}},
		{"kms alias names no key", event("aws.kms", "eu-west-1", map[string]any{"keyId": "alias/app"}, nil), nil},
		{"kms key id", event("aws.kms", "eu-west-1", map[string]any{"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}, nil),
			[]string{"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		{"sqs by url", event("aws.sqs", "eu-west-1", map[string]any{"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs"}, nil),
			[]string{"arn:aws:sqs:eu-west-1:111122223333:jobs"}},
		{"log group", event("aws.logs", "eu-west-1", map[string]any{"logGroupName": "/aws/app"}, nil),
			[]string{"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/app:*"}},
		{"secret by bare name needs a lookup", event("aws.secretsmanager", "eu-west-1", map[string]any{"secretId": "db"}, nil), nil},
		{"an ec2 id of the wrong kind", event("aws.ec2", "eu-west-1", map[string]any{"groupId": "vpc-1"}, nil), nil},
		{"an image is not inventoried", event("aws.ec2", "eu-west-1", map[string]any{"imageId": "ami-1"}, nil), nil},
		{"duplicates once", event("aws.dynamodb", "eu-west-1", map[string]any{"tableName": "t"},
			map[string]any{"tableDescription": map[string]any{"tableArn": "arn:aws:dynamodb:eu-west-1:111122223333:table/t"}}),
			[]string{"arn:aws:dynamodb:eu-west-1:111122223333:table/t"}},
		{"no parameters", event("aws.rds", "eu-west-1", nil, nil), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, inventory.ChangedARNs(tc.ev)); diff != "" {
				t.Errorf("ChangedARNs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseChangeEventRefuses(t *testing.T) {
	ok := `{"id":"e1","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"111122223333","detail":{}}`
	for _, tc := range []struct{ name, body, want string }{
		{"not json", `{`, "not an EventBridge event"},
		{"another detail-type", strings.Replace(ok, "AWS API Call via CloudTrail", "Object Created", 1), "detail-type"},
		{"another source", strings.Replace(ok, "aws.s3", "aws.glue", 1), "not one Citadel re-checks"},
		{"a bad account", strings.Replace(ok, "111122223333", "1111", 1), "12-digit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := inventory.ParseChangeEvent([]byte(tc.body))
			if err == nil || !citadel.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseChangeEvent = %v, want an invalid error naming %q", err, tc.want)
			}
		})
	}
	ev, err := inventory.ParseChangeEvent([]byte(strings.Replace(ok, `"detail":{}`, `"detail":{"readOnly":true}`, 1)))
	if err != nil || ev.Changes() {
		t.Fatalf("a read-only event: %v, Changes() = %v; want no error, false", err, ev.Changes())
	}
}
