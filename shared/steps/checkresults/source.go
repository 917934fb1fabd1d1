package checkresults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ocsf"
)

// This file reads the scan's objects: the task's manifest and the OCSF
// file, and checks the one against the other.

func (r *run) manifest(ctx context.Context) (*citadel.ProwlerManifest, error) {
	key := citadel.ScanObjectKey(r.plan.ScanID, citadel.ManifestName)
	body, err := r.get(ctx, key)
	if citadel.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var m citadel.ProwlerManifest
	if err := json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&m); err != nil {
		return nil, citadel.Invalid("manifest s3://%s/%s is not a Prowler manifest: %v", r.plan.Bucket, key, err)
	}
	return &m, nil
}

func (r *run) get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := r.h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.plan.Bucket), Key: aws.String(key)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, citadel.NotFound("s3://%s/%s not found", r.plan.Bucket, key)
	}
	if err != nil {
		return nil, citadel.Retryable(fmt.Errorf("get s3://%s/%s: %w", r.plan.Bucket, key, err))
	}
	return out.Body, nil
}

func (r *run) open(ctx context.Context) (io.ReadCloser, error) { return r.get(ctx, r.ocsfKey()) }

func (r *run) url(key string) string { return "s3://" + r.plan.Bucket + "/" + key }

func (r *run) reader(body io.Reader) *ocsf.Reader {
	var opts []ocsf.Option
	if r.h.MaxFindingBytes > 0 {
		opts = append(opts, ocsf.WithMaxFindingBytes(r.h.MaxFindingBytes))
	}
	return ocsf.NewReader(body, opts...)
}

// verify checks what pass 1 read against the manifest the Prowler task
// wrote (nil: none), which counted the same file with the same reader. A
// manifest from an older task (no version) counted every element of the
// array as a finding.
func (r *run) verify(m *citadel.ProwlerManifest) error {
	if m == nil {
		return nil
	}
	t := r.read
	var diffs []string
	if m.Version >= citadel.ManifestVersion {
		if t.Findings != m.FindingCount {
			diffs = append(diffs, fmt.Sprintf("read %d findings, the manifest says %d", t.Findings, m.FindingCount))
		}
		if t.Malformed != m.MalformedFindings {
			diffs = append(diffs, fmt.Sprintf("found %d malformed findings, the manifest says %d", t.Malformed, m.MalformedFindings))
		}
		if t.Trailing != m.TrailingData {
			diffs = append(diffs, fmt.Sprintf("data after the array: %t, the manifest says %t", t.Trailing, m.TrailingData))
		}
	} else if n := t.Findings + t.Malformed; n != m.FindingCount {
		diffs = append(diffs, fmt.Sprintf("read %d findings (%d of them malformed), the manifest says %d", n, t.Malformed, m.FindingCount))
	}
	if m.FileSize > 0 && r.size != m.FileSize {
		diffs = append(diffs, fmt.Sprintf("the file is %d bytes, the manifest says %d", r.size, m.FileSize))
	}
	if len(diffs) == 0 {
		return nil
	}
	return citadel.Invalid("the OCSF file %s does not match its manifest %s: %s", r.url(r.ocsfKey()),
		r.url(citadel.ScanObjectKey(r.plan.ScanID, citadel.ManifestName)), strings.Join(diffs, "; "))
}
