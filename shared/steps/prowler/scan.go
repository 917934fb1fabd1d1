package prowler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ocsf"
)

// DefaultDeadline bounds a scan when the environment names no deadline.
const DefaultDeadline = 3 * time.Hour

// PartSize is the multipart upload's part size: files up to one part go up
// in a single PUT.
const PartSize = 16 << 20

// ScanParams are the task's scan parameters, set by the state machine: one
// shard of a scan (its checks file, its OCSF file and manifest, its
// regions; the deadline is the shard's).
type ScanParams struct {
	ScanID      string
	ShardID     string // "" for a scan without shards
	Bucket      string
	ChecksKey   string
	OCSFKey     string
	ManifestKey string
	RoleARN     string
	ExternalID  string
	Regions     []string
	Deadline    time.Duration
}

// ScanParamsFromEnv reads the scan parameters from the environment names in
// shared/citadel (getenv is os.Getenv outside tests).
func ScanParamsFromEnv(getenv func(string) string) (ScanParams, error) {
	p := ScanParams{
		ScanID:      strings.TrimSpace(getenv(citadel.EnvTaskScanID)),
		ShardID:     strings.TrimSpace(getenv(citadel.EnvTaskShardID)),
		Bucket:      strings.TrimSpace(getenv(citadel.EnvBucket)),
		ChecksKey:   strings.TrimSpace(getenv(citadel.EnvTaskChecksKey)),
		OCSFKey:     strings.TrimSpace(getenv(citadel.EnvTaskOCSFKey)),
		ManifestKey: strings.TrimSpace(getenv(citadel.EnvTaskManifestKey)),
		RoleARN:     strings.TrimSpace(getenv(citadel.EnvTaskRoleARN)),
		ExternalID:  strings.TrimSpace(getenv(citadel.EnvTaskExternalID)),
		Regions:     strings.Fields(getenv(citadel.EnvTaskRegions)),
		Deadline:    DefaultDeadline,
	}
	if d := strings.TrimSpace(getenv(citadel.EnvTaskDeadline)); d != "" {
		v, err := time.ParseDuration(d)
		if err != nil || v <= 0 {
			return p, citadel.Invalid("%s=%q is not a positive Go duration such as 3h", citadel.EnvTaskDeadline, d)
		}
		p.Deadline = v
	}
	p = p.withDefaults()
	return p, p.Validate()
}

// withDefaults names the objects the environment left out: a shard's under
// its prefix (citadel.ShardPrefix), else the scan's (a task of an execution
// started before shards).
func (p ScanParams) withDefaults() ScanParams {
	if p.ScanID == "" {
		return p
	}
	prefix := citadel.ScanObjectKey(p.ScanID, "")
	if p.ShardID != "" {
		prefix = citadel.ShardPrefix(p.ScanID, p.ShardID)
	}
	for key, name := range map[*string]string{&p.ChecksKey: citadel.ChecksFileName, &p.OCSFKey: citadel.OCSFFileName, &p.ManifestKey: citadel.ManifestName} {
		if *key == "" {
			*key = prefix + name
		}
	}
	return p
}

// Validate checks the parameters.
func (p ScanParams) Validate() error {
	var problems []string
	if !citadel.ValidID(p.ScanID) {
		problems = append(problems, fmt.Sprintf("%s %q is not a scan id", citadel.EnvTaskScanID, p.ScanID))
	}
	if p.ShardID != "" && !citadel.ValidID(p.ShardID) {
		problems = append(problems, fmt.Sprintf("%s %q is not a shard id", citadel.EnvTaskShardID, p.ShardID))
	}
	if p.ScanID != "" {
		for name, key := range map[string]string{citadel.EnvTaskChecksKey: p.ChecksKey, citadel.EnvTaskOCSFKey: p.OCSFKey, citadel.EnvTaskManifestKey: p.ManifestKey} {
			if key != "" && !strings.HasPrefix(key, citadel.ScanObjectKey(p.ScanID, "")) {
				problems = append(problems, fmt.Sprintf("%s %q is not under the scan's prefix %s", name, key, citadel.ScanObjectKey(p.ScanID, "")))
			}
		}
	}
	if p.Bucket == "" {
		problems = append(problems, citadel.EnvBucket+" is required")
	}
	if p.RoleARN != "" {
		if _, err := citadel.ParseRoleARN(p.RoleARN); err != nil {
			problems = append(problems, err.Error())
		}
	} else if p.ExternalID != "" {
		problems = append(problems, citadel.EnvTaskExternalID+" needs "+citadel.EnvTaskRoleARN)
	}
	for _, r := range p.Regions {
		if !citadel.ValidRegion(r) {
			problems = append(problems, fmt.Sprintf("region %q is not an AWS region name", r))
		}
	}
	if p.Deadline <= 0 {
		problems = append(problems, "the deadline must be positive")
	}
	if len(problems) > 0 {
		return citadel.Invalid("scan parameters: %s", strings.Join(problems, "; "))
	}
	return nil
}

// S3API is the part of the S3 client the task uses.
type S3API interface {
	manager.UploadAPIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Scanner runs the task's scan mode.
type Scanner struct {
	S3      S3API
	Prowler *Prowler
	// WorkDir holds the checks file and Prowler's output (a temporary folder
	// when empty).
	WorkDir string
	Log     *slog.Logger
}

// ScanResult is the manifest written, with the run's measurements.
type ScanResult struct {
	Manifest citadel.ProwlerManifest
	Run      RunResult
	// Overhead is the scan's wall time outside Prowler: download, count,
	// uploads.
	Overhead time.Duration
}

// Scan downloads the shard's checks file, runs Prowler under the deadline
// (on a re-check, only on the file's ResourceARNs),
// uploads the OCSF file to the shard's OCSFKey (multipart when large; "[]"
// when Prowler wrote none, since no findings is an empty result) and writes
// the manifest, with the run's DurationSeconds, at its ManifestKey. Every failure is an error whose message is
// the reason the state machine records.
func (s *Scanner) Scan(ctx context.Context, p ScanParams) (ScanResult, error) {
	start := time.Now()
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	p = p.withDefaults()
	log = log.With("scan_id", p.ScanID, "shard_id", p.ShardID)
	var res ScanResult
	if err := p.Validate(); err != nil {
		return res, err
	}
	work := s.WorkDir
	if work == "" {
		dir, err := os.MkdirTemp("", "prowler-"+p.ScanID+"-"+p.ShardID+"-")
		if err != nil {
			return res, fmt.Errorf("work folder: %w", err)
		}
		defer os.RemoveAll(dir)
		work = dir
	}

	checks, err := s.downloadChecks(ctx, p)
	if err != nil {
		return res, err
	}
	unknown, err := s.Prowler.UnknownChecks(checks.AWS)
	if err != nil {
		return res, err
	}
	if len(unknown) > 0 {
		return res, citadel.Invalid("checks file s3://%s/%s names %d check(s) that Prowler %s does not have: %s",
			p.Bucket, p.ChecksKey, len(unknown), s.Prowler.Version, strings.Join(unknown, ", "))
	}
	checksPath := filepath.Join(work, citadel.ChecksFileName)
	b, _ := json.Marshal(checks)
	if err := os.WriteFile(checksPath, b, 0o600); err != nil {
		return res, fmt.Errorf("write checks file: %w", err)
	}
	log.Info("checks file ready", "checks", len(checks.AWS), "resource_arns", len(checks.ResourceARNs), "key", p.ChecksKey)

	run, err := s.Prowler.Run(ctx, RunInput{
		ChecksFile:    checksPath,
		OutputDir:     filepath.Join(work, "output"),
		OutputName:    strings.Trim(p.ScanID+"-"+p.ShardID, "-"),
		RoleARN:       p.RoleARN,
		ExternalID:    p.ExternalID,
		Regions:       p.Regions,
		ResourceARNs:  checks.ResourceARNs,
		Deadline:      p.Deadline,
		ChecksPlanned: len(checks.AWS),
	}, log)
	res.Run = run
	if err != nil {
		return res, err
	}

	m := citadel.ProwlerManifest{
		Version:         citadel.ManifestVersion,
		ScanID:          p.ScanID,
		ProwlerVersion:  s.Prowler.Version,
		ExitCode:        run.ExitCode,
		DurationSeconds: run.Duration.Seconds(),
		ChecksRequested: len(checks.AWS),
		OCSFKey:         p.OCSFKey,
	}
	var body io.ReadSeeker
	var stats ocsf.Stats
	if run.OCSFPath == "" {
		m.Empty = true
		body = bytes.NewReader([]byte("[]"))
		m.FileSize = 2
	} else {
		f, err := os.Open(run.OCSFPath)
		if err != nil {
			return res, fmt.Errorf("open prowler output: %w", err)
		}
		defer f.Close()
		if stats, err = ocsf.Count(f); err != nil {
			var ue *ocsf.UnreadableError
			if errors.As(err, &ue) {
				return res, citadel.Invalid("prowler output %s %s", filepath.Base(run.OCSFPath), ue.Reason())
			}
			return res, fmt.Errorf("prowler output %s: %w", filepath.Base(run.OCSFPath), err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return res, fmt.Errorf("rewind prowler output: %w", err)
		}
		m.FileSize, m.FindingCount, m.Empty = stats.Size, stats.Findings, stats.Findings == 0 && stats.Malformed == 0
		m.MalformedFindings, m.TrailingData = stats.Malformed, stats.Trailing
		for _, p := range stats.Sample {
			m.Problems = append(m.Problems, citadel.FindingProblem{Index: p.Index, Offset: p.Offset, Kind: string(p.Kind), Message: p.Message})
		}
		if stats.Malformed > 0 || stats.Trailing {
			log.Warn("prowler output has bad findings; uploaded as it is, check-results skips them",
				"malformed_findings", stats.Malformed, "trailing_data", stats.Trailing, "first", stats.Sample[0].Error())
		}
		body = f
	}
	m.ChecksExecuted = mergeSorted(run.ChecksExecuted, stats.Checks)

	if err := s.upload(ctx, p.Bucket, m.OCSFKey, "application/json", body); err != nil {
		return res, err
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := s.upload(ctx, p.Bucket, p.ManifestKey, "application/json", bytes.NewReader(mb)); err != nil {
		return res, err
	}
	res.Manifest = m
	res.Overhead = time.Since(start) - run.Duration
	log.Info("scan uploaded", "bucket", p.Bucket, "ocsf_key", m.OCSFKey, "findings", m.FindingCount, "malformed_findings", m.MalformedFindings,
		"file_size", m.FileSize, "checks_executed", len(m.ChecksExecuted), "overhead_seconds", res.Overhead.Seconds())
	return res, nil
}

func (s *Scanner) downloadChecks(ctx context.Context, p ScanParams) (citadel.ChecksFile, error) {
	out, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(p.ChecksKey)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchBucket") {
			return citadel.ChecksFile{}, citadel.NotFound("checks file s3://%s/%s not found (%s)", p.Bucket, p.ChecksKey, ae.ErrorCode())
		}
		return citadel.ChecksFile{}, fmt.Errorf("download checks file s3://%s/%s: %w", p.Bucket, p.ChecksKey, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, 8<<20))
	if err != nil {
		return citadel.ChecksFile{}, fmt.Errorf("download checks file s3://%s/%s: %w", p.Bucket, p.ChecksKey, err)
	}
	cf, err := citadel.ParseChecksFile(b)
	if err != nil {
		return cf, fmt.Errorf("s3://%s/%s: %w", p.Bucket, p.ChecksKey, err)
	}
	return cf, nil
}

func (s *Scanner) upload(ctx context.Context, bucket, key, contentType string, body io.Reader) error {
	up := manager.NewUploader(s.S3, func(u *manager.Uploader) { u.PartSize = PartSize; u.Concurrency = 4 })
	_, err := up.Upload(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: body, ContentType: aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

func mergeSorted(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}
