package prowler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ocsf"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// BenchmarkScanEstate is the task's scan mode on the test estate (22
// checks, 9 services, one region, through the role): Prowler's wall time,
// CPU and peak memory, and the entrypoint's own overhead around it
// (download, validation, counting, uploads). Run it with -benchtime 1x.
func BenchmarkScanEstate(b *testing.B) {
	p := installed(b)
	cfg := testenv.Config(b)
	acct, accountID, roleARN := testenv.Account(b, cfg)
	seedEstate(b, acct, accountID)
	client, bucket := testenv.Bucket(b, cfg)
	checks, _ := json.Marshal(citadel.ChecksFile{AWS: estateChecks})
	s := &prowler.Scanner{S3: client, Prowler: p, Log: slog.New(slog.DiscardHandler)}
	var prowlerWall, overhead, user, sys time.Duration
	var rss int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		scanID := citadel.NewID("scan", time.Now())
		putChecks(b, client, bucket, scanID, checks)
		b.StartTimer()
		res, err := s.Scan(context.Background(), prowler.ScanParams{ScanID: scanID, Bucket: bucket,
			ChecksKey: citadel.ScanObjectKey(scanID, citadel.ChecksFileName), RoleARN: roleARN, ExternalID: "citadel-test",
			Regions: []string{region}, Deadline: 15 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		prowlerWall += res.Run.Duration
		overhead += res.Overhead
		user += res.Run.UserCPU
		sys += res.Run.SystemCPU
		rss = max(rss, res.Run.MaxRSSBytes)
		b.ReportMetric(float64(res.Manifest.FindingCount), "findings")
	}
	n := float64(b.N)
	b.ReportMetric(prowlerWall.Seconds()/n, "prowler-s")
	b.ReportMetric((user+sys).Seconds()/n, "prowler-cpu-s")
	b.ReportMetric(float64(rss)/(1<<20), "prowler-peak-MB")
	b.ReportMetric(float64(overhead.Milliseconds())/n, "overhead-ms")
}

// BenchmarkCountOCSF counts a large OCSF file as the task does (ocsf.Count,
// the reader check-results uses; Prowler's example findings repeated to
// about 40 MB): the reader's throughput and allocations. Garbage grows with
// the file; one finding is live at a time.
func BenchmarkCountOCSF(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(testenv.SharedData(b), "prowler", "example_output_aws.ocsf.json"))
	if err != nil {
		b.Fatal(err)
	}
	var findings []json.RawMessage
	if err := json.Unmarshal(src, &findings); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString("[")
	n := 0
	for buf.Len() < 40<<20 {
		if n > 0 {
			buf.WriteString(",\n")
		}
		buf.Write(findings[n%len(findings)])
		n++
	}
	buf.WriteString("]")
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := ocsf.Count(bytes.NewReader(data))
		if err != nil || st.Findings != n {
			b.Fatalf("%d findings, %v; want %d", st.Findings, err, n)
		}
	}
	b.ReportMetric(float64(n), "findings")
}
