package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Exports is what the export routes need of the store (shared/ddb).
type Exports interface {
	CreateExport(ctx context.Context, e citadel.Export) error
	GetExport(ctx context.Context, id string) (citadel.Export, error)
	UpdateExport(ctx context.Context, from citadel.ExportStatus, e citadel.Export) error
	ListExports(ctx context.Context, limit int, cursor string) (citadel.Page[citadel.Export], error)
}

// Presigner signs the short-lived GET of an export's file (the S3 presign
// client, s3.NewPresignClient).
type Presigner interface {
	PresignGetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// DownloadURLLifetime is how long an export's presigned URL is valid.
const DownloadURLLifetime = 5 * time.Minute

// ExportView is an export as the API answers it: when it succeeded, with
// a presigned URL to its file valid until DownloadExpiresAt.
type ExportView struct {
	citadel.Export
	DownloadURL       string    `json:"download_url,omitempty"`
	DownloadExpiresAt time.Time `json:"download_expires_at,omitzero"`
}

// exportsOff is the 409 of a deployment without the export state machine.
const exportsOff = "exports are not set up in this deployment (the API has no " + citadel.EnvExportStateMachineARN + ")"

// createExport answers POST /exports: the request checked (citadel
// rules, then its scope and framework exist), the export recorded queued,
// the export state machine started with its id as the execution's name.
// If the execution cannot start, the export is recorded failed.
func (s *Server) createExport(w http.ResponseWriter, r *http.Request) error {
	if s.Exports == nil || s.ExportStateMachineARN == "" {
		return citadel.Conflict(exportsOff)
	}
	var body citadel.ExportRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	now := s.Clock().UTC()
	if err := body.Validate(now); err != nil {
		return err
	}
	if err := s.exportScope(ctx, body.Scope); err != nil {
		return err
	}
	if _, err := s.Catalog.GetFramework(ctx, body.Framework); err != nil {
		return err
	}
	e := citadel.Export{ID: s.NewID("exp", now), Request: body, Status: citadel.ExportQueued, RequestedBy: callerName(r),
		CreatedAt: now, Expires: now.Add(citadel.ExportRetention)}
	if err := s.Exports.CreateExport(ctx, e); err != nil {
		return err
	}
	input, err := json.Marshal(citadel.ExportInput{ExportID: e.ID})
	if err != nil {
		return fmt.Errorf("encode export input: %w", err)
	}
	out, err := s.Executions.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.ExportStateMachineARN), Name: aws.String(e.ID), Input: aws.String(string(input))})
	if err != nil {
		failed := e
		failed.Status, failed.FinishedAt, failed.FailureCause = citadel.ExportFailed, s.Clock().UTC(), "the export's execution could not start"
		if ferr := s.Exports.UpdateExport(ctx, citadel.ExportQueued, failed); ferr != nil {
			s.Log.ErrorContext(ctx, "record export failed", "export_id", e.ID, "error", ferr.Error())
		}
		return fmt.Errorf("start execution of export %s: %w", e.ID, err)
	}
	started := e
	started.ExecutionARN = aws.ToString(out.ExecutionArn)
	if err := s.Exports.UpdateExport(ctx, citadel.ExportQueued, started); err != nil {
		// The job moved it on already: it records what it does; say what we know.
		s.Log.WarnContext(ctx, "record export execution", "export_id", e.ID, "error", err.Error())
	}
	s.Log.InfoContext(ctx, "export requested", "export_id", e.ID, "framework", body.Framework, "scope", body.Scope.Kind,
		"scope_id", body.Scope.ID, "format", body.Format, "caller", e.RequestedBy)
	w.Header().Set("Location", "/exports/"+e.ID)
	writeJSON(w, http.StatusAccepted, ExportView{Export: started})
	return nil
}

// exportScope checks that an export's scope exists: a live integration of
// an account, an organization integration, or a folder.
func (s *Server) exportScope(ctx context.Context, sc citadel.ExportScope) error {
	switch sc.Kind {
	case citadel.ExportScopeFolder:
		_, err := s.lookupFolder(ctx, sc.ID)
		return err
	default:
		in, err := s.Integrations.GetIntegration(ctx, sc.ID)
		if err != nil {
			return err
		}
		switch {
		case sc.Kind == citadel.ExportScopeOrganization && !in.IsOrganization():
			return citadel.Invalid("integration %s is not an organization: export it with scope kind integration", in.ID)
		case sc.Kind == citadel.ExportScopeIntegration && in.IsOrganization():
			return citadel.Invalid("integration %s is an organization: export it with scope kind organization", in.ID)
		}
		return nil
	}
}

// getExport answers GET /exports/{id}: the export, failed once it has
// outlived its timeout unseen, and a presigned URL to its file once it
// succeeded.
func (s *Server) getExport(w http.ResponseWriter, r *http.Request) error {
	if s.Exports == nil {
		return citadel.Conflict(exportsOff)
	}
	ctx := r.Context()
	e, err := s.Exports.GetExport(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := s.exportView(ctx, e)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// settled is e as it stands at now: failed once it has outlived its
// timeout unseen (its execution stopped or timed out).
func settled(e citadel.Export, now time.Time) citadel.Export {
	if e.Expired(now) {
		e.Status, e.FailureCause = citadel.ExportFailed, fmt.Sprintf("the export did not finish within %s", citadel.ExportTimeout)
	}
	return e
}

func (s *Server) exportView(ctx context.Context, e citadel.Export) (ExportView, error) {
	now := s.Clock().UTC()
	e = settled(e, now)
	v := ExportView{Export: e}
	if e.Status != citadel.ExportSucceeded || s.Presign == nil {
		return v, nil
	}
	req, err := s.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(e.Key)},
		s3.WithPresignExpires(DownloadURLLifetime))
	if err != nil {
		return v, fmt.Errorf("presign export %s: %w", e.ID, err)
	}
	v.DownloadURL, v.DownloadExpiresAt = req.URL, now.Add(DownloadURLLifetime)
	return v, nil
}

// listExports answers GET /exports: the deployment's exports, newest first.
func (s *Server) listExports(w http.ResponseWriter, r *http.Request) error {
	if s.Exports == nil {
		return citadel.Conflict(exportsOff)
	}
	return listPage(w, r, "", func(ctx context.Context, _ string, limit int, cursor string) (citadel.Page[ExportView], error) {
		page, err := s.Exports.ListExports(ctx, limit, cursor)
		out := citadel.Page[ExportView]{Next: page.Next}
		now := s.Clock().UTC()
		for _, e := range page.Items {
			out.Items = append(out.Items, ExportView{Export: settled(e, now)}) // no URL in a list: GET /exports/{id} signs one
		}
		return out, err
	})
}
