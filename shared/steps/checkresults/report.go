package checkresults

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file is the problems report: bad findings and skipped resources.

// problem records one, up to MaxProblemsReported.
func (r *run) problem(p Problem) {
	if len(r.problems) >= MaxProblemsReported {
		r.dropped++
		return
	}
	r.problems = append(r.problems, p)
}

// report writes the problems report next to the OCSF file and logs the
// first problems.
func (r *run) report(ctx context.Context, log *slog.Logger) error {
	if len(r.problems) == 0 {
		return nil
	}
	for _, p := range r.problems[:min(len(r.problems), 20)] {
		log.Warn("finding skipped", "index", p.Index, "offset", p.Offset, "kind", p.Kind, "check", p.Check, "uid", p.UID, "message", p.Message)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, p := range r.problems {
		_ = enc.Encode(p)
	}
	if r.dropped > 0 {
		_ = enc.Encode(Problem{Index: -1, Kind: "report_truncated", Message: fmt.Sprintf("%d more problems not listed", r.dropped)})
	}
	key := citadel.ScanObjectKey(r.plan.ScanID, ProblemsFileName)
	_, err := r.h.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.plan.Bucket), Key: aws.String(key),
		Body: strings.NewReader(b.String()), ContentType: aws.String("application/x-ndjson")})
	if err != nil {
		return citadel.Retryable(fmt.Errorf("put s3://%s/%s: %w", r.plan.Bucket, key, err))
	}
	r.out.ProblemsKey = key
	return nil
}
