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

// This file reads a file's objects: the task's manifest and the OCSF file,
// and checks the one against the other.

// manifest reads a file's manifest (nil, no error, when there is none).
func (r *run) manifest(ctx context.Context, f *file) (*citadel.ProwlerManifest, error) {
	key := f.manifestKey
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

func (r *run) url(key string) string { return "s3://" + r.plan.Bucket + "/" + key }

func (r *run) reader(body io.Reader) *ocsf.Reader {
	var opts []ocsf.Option
	if r.h.MaxFindingBytes > 0 {
		opts = append(opts, ocsf.WithMaxFindingBytes(r.h.MaxFindingBytes))
	}
	return ocsf.NewReader(body, opts...)
}

// verify checks what pass 1 read of a file against the manifest the
// Prowler task wrote (nil: none), which counted the same file with the same
// reader. A manifest from an older task (no version) counted every element
// of the array as a finding.
func (r *run) verify(f *file) error {
	m := f.manifest
	if m == nil {
		return nil
	}
	t := f.read
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
	if m.FileSize > 0 && f.size != m.FileSize {
		diffs = append(diffs, fmt.Sprintf("the file is %d bytes, the manifest says %d", f.size, m.FileSize))
	}
	if len(diffs) == 0 {
		return nil
	}
	return citadel.Invalid("the OCSF file %s does not match its manifest %s: %s", r.url(f.ocsfKey),
		r.url(f.manifestKey), strings.Join(diffs, "; "))
}
