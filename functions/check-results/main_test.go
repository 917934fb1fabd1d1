package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

const account = "123456789012" // the sample events' account, moto's default one

// findings are Prowler's findings for the sample events' integration: two
// buckets (one encrypted), the root account, and a bucket that is no asset of
// the integration, which is skipped.
var findings = []ocsftest.Spec{
	{Check: "s3_bucket_default_encryption", StatusCode: "PASS", UIDs: []string{"arn:aws:s3:::citadel-logs"}},
	{Check: "s3_bucket_default_encryption", StatusCode: "FAIL", UIDs: []string{"arn:aws:s3:::citadel-public"}},
	{Check: "iam_root_mfa_enabled", StatusCode: "FAIL", UIDs: []string{"arn:aws:iam::" + account + ":root"}},
	{Check: "s3_bucket_default_encryption", StatusCode: "FAIL", UIDs: []string{"arn:aws:s3:::someone-else"}, Region: "eu-west-1"},
}

// The built bootstrap, under the Lambda Runtime Interface Emulator, ingests
// the OCSF file of each sample event. The events' ids are seeded as they are;
// only their bucket is rewritten to the test's fresh bucket.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	s3c, bucket := testenv.Bucket(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	bus := testenv.Name(t, "citadel-bus")
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := store.PutChecks(ctx, []citadel.SecurityCheck{
		{ID: "s3_bucket_default_encryption", Title: "S3 bucket has default encryption", Service: "s3", Severity: citadel.SeverityMedium},
		{ID: "iam_root_mfa_enabled", Title: "Root account has MFA", Service: "iam", Severity: citadel.SeverityCritical},
	}); err != nil {
		t.Fatal(err)
	}
	var assets []citadel.Asset
	for _, arn := range []string{"arn:aws:s3:::citadel-logs", "arn:aws:s3:::citadel-public", "arn:aws:iam::" + account + ":root"} {
		assets = append(assets, citadel.Asset{ID: citadel.AssetID("int-prod", citadel.SourceAWS, arn), IntegrationID: "int-prod",
			Source: citadel.SourceAWS, SourceID: arn, ServiceType: "AWS::S3::Bucket", Name: arn, AccountID: account, IsActive: true, FirstSeen: now, LastSeen: now})
	}
	if err := store.PutAssets(ctx, assets); err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	if _, err := ocsftest.Write(&doc, len(findings), func(i int) ocsftest.Spec { return findings[i] }); err != nil {
		t.Fatal(err)
	}
	put := func(key string, body []byte) {
		t.Helper()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "check-results"),
		map[string]string{citadel.EnvTable: table, citadel.EnvBucket: bucket, citadel.EnvEventBus: bus})

	cases := []struct {
		event string
		want  citadel.CheckResultsOutput
	}{
		// First scan: everything is new; both failures are regressions.
		{"scan.json", citadel.CheckResultsOutput{ResultsCreated: 3, ARNsSkipped: 1, ChecksExecuted: 2, ChecksPassed: 1, ChecksFailed: 2,
			SnapshotsCaptured: 3, HistoryEntriesCreated: 3, RegressionEvents: 2}},
		// The same findings again (the OCSF key left to its default): nothing changed.
		{"default-key.json", citadel.CheckResultsOutput{ResultsUnchanged: 3, ARNsSkipped: 1, ChecksExecuted: 2, ChecksPassed: 1, ChecksFailed: 2, SnapshotsCaptured: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			var in citadel.CheckResultsInput
			if err := json.Unmarshal(lambdatest.Event(t, root, "check-results", tc.event), &in); err != nil {
				t.Fatal(err)
			}
			in.Plan.Bucket = bucket
			scan := in.Plan.ScanID
			put(citadel.ScanObjectKey(scan, citadel.OCSFFileName), doc.Bytes())
			m, _ := json.Marshal(citadel.ProwlerManifest{ScanID: scan, ProwlerVersion: "5.40.0", FindingCount: len(findings),
				ChecksExecuted: []string{"iam_root_mfa_enabled", "s3_bucket_default_encryption"}, OCSFKey: citadel.ScanObjectKey(scan, citadel.OCSFFileName)})
			put(citadel.ScanObjectKey(scan, citadel.ManifestName), m)
			event, _ := json.Marshal(in)

			resp, err := fn.Invoke(ctx, event)
			if err != nil {
				t.Fatal(err)
			}
			var out citadel.CheckResultsOutput
			if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
				t.Fatalf("response = %s", resp.Payload)
			}
			got := out
			got.Usage, got.ProblemsKey = tc.want.Usage, ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("output = %+v\nwant     %+v", got, tc.want)
			}
			if out.ProblemsKey == "" {
				t.Errorf("the skipped bucket is not reported: %+v", out)
			}
		})
	}

	// A plan without a scan is refused with the domain error's message.
	resp, err := fn.Invoke(ctx, []byte(`{"plan":{"integration_id":"int-prod"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || strings.HasPrefix(resp.ErrorType, "Runtime.") || !strings.Contains(resp.ErrorMsg, "plan needs scan_id") {
		t.Errorf("bad event: got %s, want a function error", resp.Payload)
	}
}
