package citadel

import (
	"cmp"
	"slices"
	"time"
)

// StepCatalogImport names the catalog import, a step of its own outside a
// scan (its function, its log lines).
const StepCatalogImport = "catalog-import"

// StepReconcile names the reconciler, which ends the scan of an execution
// that failed, timed out or was aborted where no Catch saw it.
const StepReconcile = "reconcile"

// StepStatus is where one step of a running scan is.
type StepStatus string

const (
	StepRunning   StepStatus = "running"
	StepSucceeded StepStatus = "succeeded"
	// StepRetrying: the step's last attempt failed with a retryable error;
	// the state machine tries it again.
	StepRetrying StepStatus = "retrying"
	StepFailed   StepStatus = "failed"
)

// StepProgress is one step of a scan as the step contract records it: when
// it started, when its last attempt ended, its counts as they landed.
type StepProgress struct {
	Step       string         `json:"step"`
	Status     StepStatus     `json:"status"`
	Attempts   int            `json:"attempts"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`
	Counts     map[string]int `json:"counts,omitempty"`
	Usage      Usage          `json:"usage"`
	// Error is the failed attempt's error type; the cause in words is the
	// scan's failure_cause.
	Error string `json:"error,omitempty"`
}

// CurrentStep is the step a scan is in now, and since when, from the last
// of its recorded steps in its order (OrderOf): that step while it is
// running or retrying; the last step (finalize, org-summary) after it failed
// (the state machine's catch); otherwise the step after it, since it ended
// (so the Prowler task, which runs on Fargate and records nothing itself, is
// current from asset sync's end until check-results starts, and an
// organization scan's members from org-sync's end). Nothing recorded, or
// the last step done: "".
func CurrentStep(steps []StepProgress) (step string, since time.Time) {
	order := OrderOf(steps)
	last := -1
	var p StepProgress
	for _, s := range steps {
		if i := slices.Index(order, s.Step); i > last {
			last, p = i, s
		}
	}
	end := order[len(order)-1]
	switch {
	case last < 0:
		return "", time.Time{}
	case p.Status == StepRunning || p.Status == StepRetrying:
		return p.Step, p.StartedAt
	case p.Step == end:
		return "", time.Time{}
	case p.Status == StepFailed:
		return end, p.FinishedAt
	}
	return order[last+1], p.FinishedAt
}

// OrderOf is the order of the recorded steps' scan: OrgStepOrder when one
// of them is an organization scan's, else StepOrder.
func OrderOf(steps []StepProgress) []string {
	for _, s := range steps {
		if slices.Contains(OrgStepOrder, s.Step) {
			return OrgStepOrder
		}
	}
	return StepOrder
}

// ScanStep is a step input that names its scan (every scan step's input).
type ScanStep interface {
	ScanRef() (integrationID, scanID string)
}

// ScanRef names the scan of the execution input.
func (in PlanInput) ScanRef() (string, string) { return in.Scan.IntegrationID, in.Scan.ScanID }

func (p PlanOutput) ref() (string, string) { return p.IntegrationID, p.ScanID }

// ScanRef names the scan of the plan; an item of the asset sync's fan-out
// names none, so its invocations (many at once) leave the scan's progress
// to the sync's plan and apply.
func (in AssetSyncInput) ScanRef() (string, string) {
	if in.Item != nil {
		return "", ""
	}
	return in.Plan.ref()
}

// ScanRef names the scan of the plan.
func (in CheckResultsInput) ScanRef() (string, string) { return in.Plan.ref() }
func (in ControlsInput) ScanRef() (string, string)     { return in.Plan.ref() }
func (in PoliciesInput) ScanRef() (string, string)     { return in.Plan.ref() }
func (in EvidenceInput) ScanRef() (string, string)     { return in.Plan.ref() }

// ScanRef names the scan of the state: the execution input's, or the plan's.
func (in FinalizeInput) ScanRef() (string, string) {
	integrationID, scanID := in.Scan.IntegrationID, in.Scan.ScanID
	if scanID == "" {
		scanID = in.Plan.ScanID
	}
	if integrationID == "" {
		integrationID = in.Plan.IntegrationID
	}
	return integrationID, scanID
}

// ScanRef names the organization scan an organization sync runs for.
func (in OrgSyncInput) ScanRef() (string, string) { return in.IntegrationID, in.ScanID }

// ScanRef names the organization scan of the state: the execution input's,
// or org-plan's.
func (in OrgSummaryInput) ScanRef() (string, string) {
	return cmp.Or(in.Scan.IntegrationID, in.Plan.IntegrationID), cmp.Or(in.Scan.ScanID, in.Plan.ScanID)
}
