package prowler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestScanShard: a shard's task, its environment built as the state machine
// builds it (citadel.ProwlerTaskEnv), reads the shard's checks file and
// writes its OCSF file and its manifest (with the run's duration) under the
// shard's prefix, nothing at the scan's.
func TestScanShard(t *testing.T) {
	client, bucket := testenv.Bucket(t, testenv.Config(t))
	p := standIn(t, "s3_bucket_default_encryption")
	scanID := citadel.NewID("scan", time.Now())
	shard := citadel.Shard{ID: "s02", Regions: []string{"eu-west-1"}, RegionsArg: "eu-west-1",
		ChecksKey:   citadel.ShardPrefix(scanID, "s02") + citadel.ChecksFileName,
		OCSFKey:     citadel.ShardPrefix(scanID, "s02") + citadel.OCSFFileName,
		ManifestKey: citadel.ShardPrefix(scanID, "s02") + citadel.ManifestName, Checks: 1}
	b, _ := json.Marshal(citadel.ChecksFile{AWS: []string{"s3_bucket_default_encryption"}})
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(shard.ChecksKey), Body: bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.json")
	file := "[\n" + ocsfFinding("s3_bucket_default_encryption", "PASS") + "\n]\n"
	if err := os.WriteFile(out, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	env := citadel.ProwlerTaskEnv(citadel.NewShardTask(citadel.PlanOutput{ScanID: scanID, Bucket: bucket}, shard))
	params, err := prowler.ScanParamsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s := &prowler.Scanner{S3: client, Prowler: p.WithEnv("CITADEL_TEST_OCSF=" + out), Log: testLogger(t)}
	res, err := s.Scan(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := getObject(t, client, bucket, shard.ManifestKey)
	if err != nil {
		t.Fatalf("the shard's manifest: %v", err)
	}
	var m citadel.ProwlerManifest
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	if m.OCSFKey != shard.OCSFKey || m.FindingCount != 1 || m.ChecksRequested != 1 || m.DurationSeconds <= 0 || m.DurationSeconds != res.Manifest.DurationSeconds {
		t.Errorf("manifest %+v: want the shard's OCSF key, one finding, one check and the run's duration", m)
	}
	if got, err := getObject(t, client, bucket, shard.OCSFKey); err != nil || string(got) != file {
		t.Errorf("the shard's OCSF file: %q, %v", got, err)
	}
	for _, name := range []string{citadel.OCSFFileName, citadel.ManifestName} {
		if _, err := getObject(t, client, bucket, citadel.ScanObjectKey(scanID, name)); err == nil {
			t.Errorf("a shard's task wrote the scan's %s", name)
		}
	}
}
