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
	"github.com/citadelsecure/citadel/shared/ddb"
)

// integrationArchive is what deleting an integration needs of the store
// (ddb/archive.go), part of Integrations.
type integrationArchive interface {
	GetIntegrationRecord(ctx context.Context, id string) (citadel.Integration, time.Time, error)
	ArchiveIntegration(ctx context.Context, id string, at time.Time) error
	RemoveIntegrationFromControls(ctx context.Context, folderID, integrationID string, now time.Time) (int, error)
}

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
	// Kind and Organization make an organization integration
	// (orgintegrations.go).
	Kind         citadel.IntegrationKind      `json:"kind"`
	Organization *citadel.OrganizationOptions `json:"organization"`
}

type integrationPatch struct {
	Name               *string   `json:"name"`
	RoleARN            *string   `json:"role_arn"`
	ExternalID         *string   `json:"external_id"`
	Regions            *[]string `json:"regions"`
	Frameworks         *[]string `json:"frameworks"`
	Checks             *[]string `json:"checks"`
	ScheduleExpression *string   `json:"schedule_expression"`
	// Organization replaces an organization integration's options.
	Organization *citadel.OrganizationOptions `json:"organization"`
}

func (s *Server) createIntegration(w http.ResponseWriter, r *http.Request) error {
	var body integrationCreate
	if err := decode(r, &body); err != nil {
		return err
	}
	folder, err := s.folder(r.Context(), body.FolderID)
	if err != nil {
		return err
	}
	now := s.Clock()
	in := citadel.Integration{
		ID: s.NewID("int", now), FolderID: folder, Name: body.Name, AccountID: body.AccountID,
		RoleARN: body.RoleARN, ExternalID: body.ExternalID, Regions: body.Regions, Frameworks: body.Frameworks,
		Checks: body.Checks, ScheduleExpression: body.ScheduleExpression, CreatedAt: now, UpdatedAt: now,
		Kind: body.Kind, Organization: body.Organization,
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
	folder, err := s.folder(r.Context(), r.URL.Query().Get("folder_id"))
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
	if err := memberOwned(old, "changed"); err != nil {
		return err
	}
	in := old
	if body.Organization != nil {
		in.Organization = body.Organization
	}
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

// checkFrameworks refuses an integration without frameworks (no frameworks
// would mean every mapped check of every framework) and frameworks the
// imported catalog does not have (citadel.Integration.CheckFrameworks). An
// update checks them only when it sets them, so a later catalog change does
// not block other edits.
func (s *Server) checkFrameworks(ctx context.Context, in citadel.Integration) error {
	if len(in.Frameworks) == 0 {
		return citadel.Invalid("integration: frameworks is required: %s", frameworksHint)
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

// frameworksHint says how to find framework ids, for every refusal of a
// missing or empty frameworks list.
const frameworksHint = "name at least one framework id of the loaded catalog (GET /catalog lists them)"

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

// deleteIntegration deletes the integration's schedule, archives the
// integration (refused while a scan is queued or running: 409, the schedule
// put back) and removes its contribution from its folder's controls
// (docs/data-model.md, "Deleting an integration"). The archive is the commit
// point: from it on the integration cannot be read, changed or scanned, and
// a DELETE again (a retry after a failure past it) redoes the rest, which
// is idempotent. The work is bounded: a schedule, one transaction, one
// Query of the folder's controls and a write per control the integration
// counted in.
func (s *Server) deleteIntegration(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	in, archived, err := s.Integrations.GetIntegrationRecord(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case archived.IsZero() && in.ParentID != "":
		return memberOwned(in, "deleted")
	case archived.IsZero() && in.IsOrganization():
		if err := s.archiveOrganization(ctx, in); err != nil {
			return err
		}
	case archived.IsZero():
		if err := s.archiveIntegration(ctx, in); err != nil {
			return err
		}
	default:
		if err := s.Schedules.Delete(ctx, id); err != nil {
			return fmt.Errorf("schedule of integration %s: %w", id, err)
		}
	}
	n, err := s.Integrations.RemoveIntegrationFromControls(ctx, in.FolderID, id, s.Clock())
	if err != nil {
		return fmt.Errorf("controls of deleted integration %s: %w", id, err)
	}
	s.Log.InfoContext(ctx, "integration deleted", "integration_id", id, "folder_id", in.FolderID, "controls_updated", n)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// archiveIntegration deletes a live integration's schedule and archives it;
// when the archive is refused (a scan started meanwhile) the schedule is
// put back, so a refused delete changes nothing.
func (s *Server) archiveIntegration(ctx context.Context, in citadel.Integration) error {
	switch sc, err := s.Scans.RunningScan(ctx, in.ID); {
	case err == nil:
		return ddb.ScanHoldsIntegration(sc)
	case !citadel.IsNotFound(err):
		return fmt.Errorf("running scan of integration %s: %w", in.ID, err)
	}
	if err := s.Schedules.Delete(ctx, in.ID); err != nil {
		return fmt.Errorf("schedule of integration %s: %w", in.ID, err)
	}
	err := s.Integrations.ArchiveIntegration(ctx, in.ID, s.Clock())
	if err != nil && !citadel.IsNotFound(err) {
		if serr := s.Schedules.Sync(ctx, in); serr != nil {
			s.Log.ErrorContext(ctx, "undo schedule delete", "integration_id", in.ID, "error", serr.Error())
		}
	}
	return err
}

// readableIntegration is an integration whose scans and results may be
// read: a live one or an archived (deleted) one.
func (s *Server) readableIntegration(ctx context.Context, id string) error {
	_, _, err := s.Integrations.GetIntegrationRecord(ctx, id)
	return err
}

// startScan records a queued scan (taking the integration's lock, or taking
// it over from a scan whose execution has ended: scanend.Locks), starts
// the state machine with the scan id as execution name and records the
// execution. An integration of kind organization starts the organization
// state machine (its scan is the organization's, its members' scans under
// it), any other the scan state machine. If the execution cannot start,
// the scan is marked failed and the lock released, so the integration can
// be scanned again.
func (s *Server) startScan(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	in, err := s.Integrations.GetIntegration(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	sm, err := s.stateMachineOf(in)
	if err != nil {
		return err
	}
	if err := s.checkScannable(ctx, in); err != nil {
		return err
	}
	now := s.Clock()
	sc := citadel.Scan{ID: s.NewID("scan", now), IntegrationID: in.ID, FolderID: in.FolderID,
		Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: now}
	if in.IsOrganization() {
		sc.Kind = citadel.KindOrganization
	}
	if err := s.locks().Start(ctx, sc); err != nil {
		return err
	}
	input, err := json.Marshal(citadel.PlanInput{Scan: citadel.StartScan{ScanID: sc.ID, IntegrationID: in.ID, Trigger: citadel.TriggerAPI}})
	if err != nil {
		return fmt.Errorf("encode execution input: %w", err)
	}
	out, err := s.Executions.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(sm), Name: aws.String(sc.ID), Input: aws.String(string(input)),
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

// stateMachineOf is the state machine that scans an integration: the
// organization state machine for an organization, the scan state machine
// for any other.
func (s *Server) stateMachineOf(in citadel.Integration) (string, error) {
	if !in.IsOrganization() {
		return s.StateMachineARN, nil
	}
	if s.OrgStateMachineARN == "" {
		return "", citadel.Conflict("integration %s is an organization, and this deployment has no organization state machine (%s) to scan it with",
			in.ID, citadel.EnvOrgStateMachineARN)
	}
	return s.OrgStateMachineARN, nil
}

func (s *Server) listScans(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.readableIntegration(r.Context(), id); err != nil {
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
