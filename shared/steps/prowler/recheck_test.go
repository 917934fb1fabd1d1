package prowler_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestScanPassesResourceARNs: the task gives Prowler a re-check's
// resources (the checks file's resource_arns) as --resource-arn, and a
// checks file without them as before; the checks file Prowler reads is
// still one it parses (its "aws" key).
func TestScanPassesResourceARNs(t *testing.T) {
	client, bucket := testenv.Bucket(t, testenv.Config(t))
	p := standIn(t, "s3_bucket_default_encryption")
	cases := []struct {
		name string
		arns []string
		want []string // Prowler's arguments between the regions and -M
	}{
		{name: "a full scan", want: []string{}},
		{name: "a re-check", arns: []string{"arn:aws:s3:::logs", "arn:aws:s3:::media"},
			want: []string{"--resource-arn", "arn:aws:s3:::logs", "arn:aws:s3:::media"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scanID := citadel.NewID("scan", time.Now())
			b, _ := json.Marshal(citadel.ChecksFile{AWS: []string{"s3_bucket_default_encryption"}, ResourceARNs: tc.arns})
			putChecks(t, client, bucket, scanID, b)
			argsFile := filepath.Join(t.TempDir(), "args")
			work := t.TempDir()
			s := &prowler.Scanner{S3: client, Prowler: p.WithEnv("CITADEL_TEST_ARGS=" + argsFile), WorkDir: work, Log: testLogger(t)}
			if _, err := s.Scan(context.Background(), prowler.ScanParams{ScanID: scanID, Bucket: bucket, Regions: []string{region}, Deadline: time.Minute}); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			args := strings.Split(strings.TrimSpace(string(raw)), "\n")
			i, j := slices.Index(args, region), slices.Index(args, "-M")
			if i < 0 || j < i {
				t.Fatalf("args %q: no -f %s before -M", args, region)
			}
			if d := cmp.Diff(tc.want, args[i+1:j]); d != "" {
				t.Errorf("arguments after the regions (-want +got):\n%s", d)
			}
			written, err := os.ReadFile(args[slices.Index(args, "--checks-file")+1])
			if err != nil {
				t.Fatal(err)
			}
			var prowlerView map[string]json.RawMessage
			if err := json.Unmarshal(written, &prowlerView); err != nil || string(prowlerView["aws"]) != `["s3_bucket_default_encryption"]` {
				t.Errorf("checks file given to Prowler %s: want its aws key as written (%v)", written, err)
			}
		})
	}
}

// TestScanRecheck runs the real Prowler on a re-check's checks file: every
// estate check, and two resources (the bare bucket, the plain table).
// Prowler runs only the checks of their services and reports on them
// alone, with the same statuses as the full scan's (TestScanEstate).
func TestScanRecheck(t *testing.T) {
	p := installed(t)
	cfg := testenv.Config(t)
	acct, accountID, roleARN := testenv.Account(t, cfg)
	estate := seedEstate(t, acct, accountID)
	client, bucket := testenv.Bucket(t, cfg)
	suffix := strings.ToLower(accountID[len(accountID)-6:])
	badBucket, badTable := inventory.S3BucketARN("aws", "estate-bad-"+suffix), inventory.DynamoDBTableARN(region, accountID, "orders-plain")
	arns := []string{badBucket, badTable}
	slices.Sort(arns)
	var want []expect
	for _, e := range estate {
		if slices.Contains(arns, e.Resource) {
			want = append(want, e)
		}
	}
	if len(want) < 3 {
		t.Fatalf("the estate expects only %d findings on %v", len(want), arns)
	}

	scanID := citadel.NewID("scan", time.Now())
	b, _ := json.Marshal(citadel.ChecksFile{AWS: estateChecks, ResourceARNs: arns})
	putChecks(t, client, bucket, scanID, b)
	params, err := prowler.ScanParamsFromEnv(env(map[string]string{
		citadel.EnvTaskScanID: scanID, citadel.EnvBucket: bucket,
		citadel.EnvTaskRoleARN: roleARN, citadel.EnvTaskExternalID: "citadel-test",
		citadel.EnvTaskRegions: region, citadel.EnvTaskDeadline: "15m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := &prowler.Scanner{S3: client, Prowler: p, Log: testLogger(t)}
	res, err := s.Scan(context.Background(), params)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	ocsf, err := getObject(t, client, bucket, res.Manifest.OCSFKey)
	if err != nil {
		t.Fatal(err)
	}
	var findings []finding
	if err := json.Unmarshal(ocsf, &findings); err != nil {
		t.Fatal(err)
	}
	got := map[expect]bool{}
	for _, f := range findings {
		for _, r := range f.Resources {
			if !slices.Contains(arns, r.UID) {
				t.Errorf("finding %s %s on %s, a resource the re-check does not cover", f.Metadata.EventCode, f.StatusCode, r.UID)
			}
			got[expect{f.Metadata.EventCode, r.UID, f.StatusCode}] = true
		}
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("no %s of %s on %s", w.Status, w.Check, w.Resource)
		}
	}
	for _, c := range res.Manifest.ChecksExecuted {
		if !strings.HasPrefix(c, "s3_") && !strings.HasPrefix(c, "dynamodb_") {
			t.Errorf("Prowler ran %s, a check of neither resource's service", c)
		}
	}
}
