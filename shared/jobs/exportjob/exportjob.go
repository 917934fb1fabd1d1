// Package exportjob is the export state machine's job: it collects the
// dataset an export asks for (shared/export), renders it in the export's
// format, writes the file to the bucket under exports/<id>/ and records
// the export succeeded with the file's name, size and SHA-256; the API
// answers a short-lived presigned URL to it. A request the data refuses
// (an unknown framework or integration) ends the export failed with the
// reason, not retried; a retryable error goes back to the state machine's
// Retry; on its catch path the job records the export failed with the
// state machine's error.
package exportjob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/export"
	"github.com/citadelsecure/citadel/shared/stepfn"
)

// StepName names the job in logs.
const StepName = "export"

// Store is what the job reads and writes: the export record and the data.
type Store interface {
	export.Store
	GetExport(ctx context.Context, id string) (citadel.Export, error)
	UpdateExport(ctx context.Context, from citadel.ExportStatus, e citadel.Export) error
}

// Objects writes the export's file.
type Objects interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Handler runs one export.
type Handler struct {
	Store   Store
	S3      Objects
	Bucket  string
	Options RenderOptions
	stepfn.Env
}

// Output is what the job answers the state machine.
type Output struct {
	ExportID string               `json:"export_id"`
	Status   citadel.ExportStatus `json:"status"`
	Size     int64                `json:"size,omitempty"`
}

// Handle runs the export of in.ExportID, or records it failed (in.Error).
func (h *Handler) Handle(ctx context.Context, in citadel.ExportInput) (Output, error) {
	if in.ExportID == "" {
		return Output{}, citadel.Invalid("%s: export_id is required", StepName)
	}
	e, err := h.Store.GetExport(ctx, in.ExportID)
	if err != nil {
		return Output{}, fmt.Errorf("%s %s: %w", StepName, in.ExportID, retryableIfNot(err))
	}
	out := Output{ExportID: e.ID, Status: e.Status, Size: e.Size}
	if e.Status == citadel.ExportSucceeded || e.Status == citadel.ExportFailed {
		return out, nil // a retry after the job had ended it
	}
	if in.Error != nil {
		return h.fail(ctx, e, fmt.Sprintf("%s: %s", in.Error.Error, in.Error.Cause))
	}
	now := h.Clock()
	if e.Status == citadel.ExportQueued {
		prev := e.Status
		e.Status, e.StartedAt = citadel.ExportRunning, now
		if err := h.Store.UpdateExport(ctx, prev, e); err != nil {
			return out, fmt.Errorf("%s %s: %w", StepName, e.ID, retryableIfNot(err))
		}
	}
	ds, err := export.Collect(ctx, h.Store, export.Request{Framework: e.Request.Framework, Scope: e.Request.Scope, AsOf: e.Request.AsOf}, now)
	if err != nil {
		if client(err) {
			return h.fail(ctx, e, err.Error())
		}
		return out, fmt.Errorf("%s %s: %w", StepName, e.ID, err)
	}
	f, err := Render(ctx, e.Request.Format, ds, h.Options)
	if err != nil {
		if client(err) {
			return h.fail(ctx, e, err.Error())
		}
		return out, fmt.Errorf("%s %s: %w", StepName, e.ID, err)
	}
	sum := sha256.Sum256(f.Body)
	key := citadel.ExportKey(e.ID, f.Name)
	if _, err := h.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.Bucket), Key: aws.String(key), Body: bytes.NewReader(f.Body),
		ContentType: aws.String(f.ContentType), ContentDisposition: aws.String(`attachment; filename="` + f.Name + `"`),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256}); err != nil {
		return out, citadel.Retryable(fmt.Errorf("%s %s: put s3://%s/%s: %w", StepName, e.ID, h.Bucket, key, err))
	}
	done := e
	done.Status, done.FinishedAt = citadel.ExportSucceeded, h.Clock()
	done.Key, done.FileName, done.ContentType, done.Size, done.SHA256 = key, f.Name, f.ContentType, int64(len(f.Body)), hex.EncodeToString(sum[:])
	done.Findings, done.Evidence = len(ds.Findings), len(ds.Evidence)
	if err := h.Store.UpdateExport(ctx, citadel.ExportRunning, done); err != nil {
		return out, fmt.Errorf("%s %s: %w", StepName, e.ID, retryableIfNot(err))
	}
	h.Log.Info("export written", "export", e.ID, "format", e.Request.Format, "framework", e.Request.Framework, "scope", e.Request.Scope.ID,
		"key", key, "bytes", len(f.Body), "findings", len(ds.Findings), "evidence", len(ds.Evidence))
	return Output{ExportID: e.ID, Status: done.Status, Size: done.Size}, nil
}

// fail records the export failed with cause.
func (h *Handler) fail(ctx context.Context, e citadel.Export, cause string) (Output, error) {
	prev := e.Status
	e.Status, e.FinishedAt, e.FailureCause = citadel.ExportFailed, h.Clock(), cause
	if err := h.Store.UpdateExport(ctx, prev, e); err != nil {
		return Output{ExportID: e.ID, Status: prev}, fmt.Errorf("%s %s: record the failure: %w", StepName, e.ID, retryableIfNot(err))
	}
	h.Log.Warn("export failed", "export", e.ID, "cause", cause)
	return Output{ExportID: e.ID, Status: e.Status}, nil
}

// client says whether err is the request's fault: retrying changes nothing.
func client(err error) bool {
	switch citadel.CodeOf(err) {
	case citadel.CodeInvalid, citadel.CodeNotFound:
		return true
	}
	return false
}

// retryableIfNot marks a store error retryable unless it is the request's
// fault (a conflict is a concurrent move: reading again resolves it).
func retryableIfNot(err error) error {
	var re *citadel.RetryableError
	if client(err) || errors.As(err, &re) {
		return err
	}
	return citadel.Retryable(err)
}
