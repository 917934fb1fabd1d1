package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
)

type integrationCreate struct {
	FolderID           string   `json:"folder_id"`
	Name               string   `json:"name"`
	AccountID          string   `json:"account_id"`
	RoleARN            string   `json:"role_arn"`
	ExternalID         string   `json:"external_id"`
	Regions            []string `json:"regions"`
	Frameworks         []string `json:"frameworks"`
	Checks             []string `json:"checks"`
	ScheduleExpression string   `json:"schedule_expression"`
}

type integrationPatch struct {
	Name               *string   `json:"name"`
	RoleARN            *string   `json:"role_arn"`
	ExternalID         *string   `json:"external_id"`
	Regions            *[]string `json:"regions"`
	Frameworks         *[]string `json:"frameworks"`
	Checks             *[]string `json:"checks"`
	ScheduleExpression *string   `json:"schedule_expression"`
}

func (s *Server) createIntegration(w http.ResponseWriter, r *http.Request) error {
	var body integrationCreate
	if err := decode(r, &body); err != nil {
		return err
	}
	folder, err := s.folder(body.FolderID)
	if err != nil {
		return err
	}
	now := s.Clock()
	in := citadel.Integration{
		ID: s.NewID("int", now), FolderID: folder, Name: body.Name, AccountID: body.AccountID,
		RoleARN: body.RoleARN, ExternalID: body.ExternalID, Regions: body.Regions, Frameworks: body.Frameworks,
		Checks: body.Checks, ScheduleExpression: body.ScheduleExpression, CreatedAt: now, UpdatedAt: now,
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if err := citadel.CheckScheduleInterval(in.ScheduleExpression, s.minScheduleInterval()); err != nil {
		return err
	}
	if err := s.checkFrameworks(r.Context(), in); err != nil {
		return err
	}
	if err := s.checkChecks(r.Context(), in.Checks); err != nil {
		return err
	}
	if err := s.Integrations.CreateIntegration(r.Context(), in); err != nil {
		return err
	}
	if err := s.Schedules.Sync(r.Context(), in); err != nil {
		// No integration without its schedule: undo the create.
		if derr := s.Integrations.DeleteIntegration(r.Context(), in.ID); derr != nil {
			s.Log.ErrorContext(r.Context(), "undo integration create", "integration_id", in.ID, "error", derr.Error())
		}
		return fmt.Errorf("schedule of integration %s: %w", in.ID, err)
	}
	w.Header().Set("Location", "/integrations/"+in.ID)
	writeJSON(w, http.StatusCreated, in)
	return nil
}

func (s *Server) listIntegrations(w http.ResponseWriter, r *http.Request) error {
	folder, err := s.folder(r.URL.Query().Get("folder_id"))
	if err != nil {
		return err
	}
	return listPage(w, r, folder, s.Integrations.ListIntegrations)
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request) error {
	in, err := s.Integrations.GetIntegration(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

func (s *Server) updateIntegration(w http.ResponseWriter, r *http.Request) error {
	var body integrationPatch
	if err := decode(r, &body); err != nil {
		return err
	}
	old, err := s.Integrations.GetIntegration(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	in := old
	set(&in.Name, body.Name)
	set(&in.RoleARN, body.RoleARN)
	set(&in.ExternalID, body.ExternalID)
	set(&in.Regions, body.Regions)
	set(&in.Frameworks, body.Frameworks)
	set(&in.Checks, body.Checks)
	set(&in.ScheduleExpression, body.ScheduleExpression)
	in.UpdatedAt = s.Clock()
	if err := in.Validate(); err != nil {
		return err
	}
	if body.ScheduleExpression != nil {
		if err := citadel.CheckScheduleInterval(in.ScheduleExpression, s.minScheduleInterval()); err != nil {
			return err
		}
	}
	if body.Frameworks != nil {
		if err := s.checkFrameworks(r.Context(), in); err != nil {
			return err
		}
	}
	if body.Checks != nil {
		if err := s.checkChecks(r.Context(), in.Checks); err != nil {
			return err
		}
	}
	if err := s.Integrations.UpdateIntegration(r.Context(), in); err != nil {
		return err
	}
	if err := s.Schedules.Sync(r.Context(), in); err != nil {
		// Keep the record and its schedule in step: put the old one back.
		if rerr := s.Integrations.UpdateIntegration(r.Context(), old); rerr != nil {
			s.Log.ErrorContext(r.Context(), "undo integration update", "integration_id", in.ID, "error", rerr.Error())
		}
		return fmt.Errorf("schedule of integration %s: %w", in.ID, err)
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

// checkFrameworks refuses frameworks the imported catalog does not have
// (citadel.Integration.CheckFrameworks); it reads the catalog's framework
// ids only when the integration names some. An update checks them only when
// it sets them, so a later catalog change does not block other edits.
func (s *Server) checkFrameworks(ctx context.Context, in citadel.Integration) error {
	if len(in.Frameworks) == 0 {
		return nil
	}
	fws, err := s.Catalog.ListFrameworks(ctx)
	if err != nil {
		return fmt.Errorf("frameworks of the catalog: %w", err)
	}
	ids := make([]string, len(fws))
	for i, f := range fws {
		ids[i] = f.ID
	}
	return in.CheckFrameworks(ids)
}

func (s *Server) minScheduleInterval() time.Duration {
	if s.MinScheduleInterval > 0 {
		return s.MinScheduleInterval
	}
	return citadel.DefaultMinScheduleInterval
}

// checkChecks refuses pinned checks the imported catalog does not have,
// naming them all: one read of just those ids, and of the catalog's version
// only when some are unknown (to say whether a catalog is loaded at all).
func (s *Server) checkChecks(ctx context.Context, pinned []string) error {
	if len(pinned) == 0 {
		return nil
	}
	known, err := s.Catalog.KnownChecks(ctx, pinned)
	if err != nil {
		return fmt.Errorf("checks of the catalog: %w", err)
	}
	var unknown []string
	for _, c := range pinned {
		if !known[c] {
			unknown = append(unknown, c)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	switch _, err := s.Catalog.GetCatalogVersion(ctx); {
	case citadel.IsNotFound(err):
		return citadel.Invalid("integration: checks %s cannot be checked: the catalog is not loaded yet (import it with `citadel catalog import`, then retry)", strings.Join(unknown, ", "))
	case err != nil:
		return fmt.Errorf("catalog version: %w", err)
	}
	return citadel.Invalid("integration: unknown check ids %s (not in the imported catalog)", strings.Join(unknown, ", "))
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (s *Server) deleteIntegration(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Integrations.GetIntegration(r.Context(), id); err != nil {
		return err
	}
	if err := s.Schedules.Delete(r.Context(), id); err != nil {
		return fmt.Errorf("schedule of integration %s: %w", id, err)
	}
	if err := s.Integrations.DeleteIntegration(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// startScan records a queued scan (taking the integration's lock, or taking
// it over from a scan whose execution has ended: scanend.Locks), starts
// the state machine with the scan id as execution name and records the
// execution. If the execution cannot start, the scan is marked failed and
// the lock released, so the integration can be scanned again.
func (s *Server) startScan(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	in, err := s.Integrations.GetIntegration(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.checkScannable(ctx, in); err != nil {
		return err
	}
	now := s.Clock()
	sc := citadel.Scan{ID: s.NewID("scan", now), IntegrationID: in.ID, FolderID: in.FolderID,
		Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: now}
	if err := s.locks().Start(ctx, sc); err != nil {
		return err
	}
	input, err := json.Marshal(citadel.PlanInput{Scan: citadel.StartScan{ScanID: sc.ID, IntegrationID: in.ID, Trigger: citadel.TriggerAPI}})
	if err != nil {
		return fmt.Errorf("encode execution input: %w", err)
	}
	out, err := s.Executions.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.StateMachineARN), Name: aws.String(sc.ID), Input: aws.String(string(input)),
	})
	if err != nil {
		failed := sc
		failed.Status, failed.FinishedAt = citadel.ScanFailed, s.Clock()
		failed.FailureCause = "the scan's execution could not start"
		s.Log.ErrorContext(ctx, "start execution", "scan_id", sc.ID, "error", err.Error())
		if _, ferr := s.Scans.FinishScan(ctx, failed); ferr != nil {
			err = errors.Join(err, fmt.Errorf("mark scan %s failed: %w", sc.ID, ferr))
		}
		return fmt.Errorf("start execution of scan %s: %w", sc.ID, err)
	}
	running, err := s.Scans.MarkScanRunning(ctx, in.ID, sc.ID, aws.ToString(out.ExecutionArn))
	if err != nil {
		// The execution runs and its plan step moves the scan on; say what we know.
		s.Log.WarnContext(ctx, "record scan execution", "scan_id", sc.ID, "error", err.Error())
		running = sc
		running.ExecutionARN = aws.ToString(out.ExecutionArn)
	}
	w.Header().Set("Location", "/scans/"+sc.ID)
	writeJSON(w, http.StatusAccepted, running)
	return nil
}

func (s *Server) listScans(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Integrations.GetIntegration(r.Context(), id); err != nil {
		return err
	}
	return listPage(w, r, id, s.Scans.ListScans)
}

// ScanView (GET /scans/{id}) is a scan with its steps as the step contract recorded them, and
// the step it is in now (citadel.CurrentStep), so a user can watch it.
type ScanView struct {
	citadel.Scan
	Steps            []citadel.StepProgress `json:"steps"`
	CurrentStep      string                 `json:"current_step,omitempty"`
	CurrentStepSince time.Time              `json:"current_step_since,omitzero"`
}

func (s *Server) getScan(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.Scans.GetScan(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	steps, err := s.Scans.ScanSteps(r.Context(), sc.ID)
	if err != nil {
		return err
	}
	v := ScanView{Scan: sc, Steps: nonNil(steps)}
	if sc.Status.Active() {
		v.CurrentStep, v.CurrentStepSince = citadel.CurrentStep(steps)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
