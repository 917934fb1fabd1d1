package citadel

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Folder is the tenant scope: every integration, control and assessment
// belongs to exactly one folder.
type Folder struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the folder was last renamed (zero until then).
	UpdatedAt time.Time `json:"updated_at,omitzero" dynamo:",omitempty"`
}

// MaxFolderName bounds a folder's name, in characters.
const MaxFolderName = 256

// Validate checks a folder before it is stored: an id (ValidID) and a name
// that is not blank, at most MaxFolderName characters.
func (f Folder) Validate() error {
	var errs fieldErrors
	errs.add(f.ID == "", "id is required")
	errs.add(f.ID != "" && !ValidID(f.ID), fmt.Sprintf("id %q must match %s", f.ID, PatternID))
	errs.add(strings.TrimSpace(f.Name) == "", "name is required (not blank)")
	errs.add(utf8.RuneCountInString(f.Name) > MaxFolderName, fmt.Sprintf("name is over %d characters", MaxFolderName))
	return errs.err("folder")
}

// Integration is one AWS account that Citadel scans.
type Integration struct {
	ID         string   `json:"id"`
	FolderID   string   `json:"folder_id"`
	Name       string   `json:"name"`
	AccountID  string   `json:"account_id"`
	RoleARN    string   `json:"role_arn,omitempty"`
	ExternalID string   `json:"external_id,omitempty"`
	Regions    []string `json:"regions,omitempty"`
	Frameworks []string `json:"frameworks,omitempty"`
	// Checks, when set, narrows the scan to these of its frameworks' mapped
	// checks (the demo pins a documented subset this way).
	Checks             []string  `json:"checks,omitempty" dynamo:",omitempty"`
	ScheduleExpression string    `json:"schedule_expression,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	// Kind, Organization and ParentID: an organization and its members
	// (integration_org.go).
	Kind         IntegrationKind      `json:"kind,omitempty" dynamo:",omitempty"`
	Organization *OrganizationOptions `json:"organization,omitempty" dynamo:",omitempty"`
	ParentID     string               `json:"parent_id,omitempty" dynamo:",omitempty"`
}

// Validate checks an integration: a 12-digit account id, a role ARN in that
// account (with an external id) when a role is set, real region names of one
// partition (the role's, when set), and a schedule expression that
// EventBridge Scheduler accepts.
func (i Integration) Validate() error {
	var errs fieldErrors
	errs.add(i.ID == "", "id is required")
	errs.add(i.FolderID == "", "folder_id is required")
	errs.add(!ValidAccountID(i.AccountID), fmt.Sprintf("account_id %q must be 12 digits", i.AccountID))
	if i.RoleARN != "" {
		acct, err := ParseRoleARN(i.RoleARN)
		switch {
		case err != nil:
			errs.add(true, err.(*Error).Msg)
		case ValidAccountID(i.AccountID) && acct != i.AccountID:
			errs.add(true, fmt.Sprintf("role_arn is in account %s, not in the integration's account %s", acct, i.AccountID))
		}
		errs.add(i.ExternalID != "" && !externalIDRe.MatchString(i.ExternalID), "external_id must be 2-1000 characters of [\\w+=,.@:/-]")
	}
	i.checkRegions(&errs)
	errs.add(hasDuplicates(i.Regions), "regions must not repeat")
	for _, f := range i.Frameworks {
		errs.add(!frameworkIDRe.MatchString(f), fmt.Sprintf("framework %q is not a framework id", f))
	}
	for _, c := range i.Checks {
		errs.add(!ValidID(c), fmt.Sprintf("check %q is not a check id", c))
	}
	errs.add(hasDuplicates(i.Checks), "checks must not repeat")
	errs.add(i.ScheduleExpression != "" && !ValidScheduleExpression(i.ScheduleExpression),
		fmt.Sprintf("schedule_expression %q must be rate(N unit) or cron(6 fields)", i.ScheduleExpression))
	i.checkKind(&errs)
	return errs.err("integration")
}

// CheckFrameworks checks the integration's frameworks against the ids of
// the imported catalog (known, in any order): every one must be there. With
// no catalog imported yet (known empty) no framework can be checked, so any
// is refused. The error names the unknown ids and lists the valid ones,
// sorted, so a caller can correct the request.
func (i Integration) CheckFrameworks(known []string) error {
	if len(i.Frameworks) == 0 {
		return nil
	}
	if len(known) == 0 {
		return Invalid("integration: frameworks %s cannot be checked: the catalog is not loaded yet (import it with `citadel catalog import`, then retry)",
			strings.Join(i.Frameworks, ", "))
	}
	var unknown []string
	for _, f := range i.Frameworks {
		if !slices.Contains(known, f) && !slices.Contains(unknown, f) {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	valid := slices.Clone(known)
	slices.Sort(valid)
	return Invalid("integration: unknown framework ids %s (not in the imported catalog); valid framework ids: %s",
		strings.Join(unknown, ", "), strings.Join(slices.Compact(valid), ", "))
}

// checkRegions refuses region names that are not real regions
// (RegionPartition), regions of more than one partition, and a role ARN of
// another partition than the regions' (an aws-cn region needs an
// arn:aws-cn role).
func (i Integration) checkRegions(errs *fieldErrors) {
	partition, first := "", ""
	for _, r := range i.Regions {
		p, ok := RegionPartition(r)
		switch {
		case !ok:
			errs.add(true, fmt.Sprintf("region %q is not an AWS region name (the regions of partitions aws, aws-cn and aws-us-gov)", r))
		case partition == "":
			partition, first = p, r
		case p != partition:
			errs.add(true, fmt.Sprintf("regions %s (%s) and %s (%s) are in different partitions; an integration's regions are all in its account's partition", first, partition, r, p))
		}
	}
	if rp := ARNPartition(i.RoleARN); partition != "" && rp != "" && rp != partition {
		errs.add(true, fmt.Sprintf("role_arn is in partition %s, but region %s is in partition %s", rp, first, partition))
	}
}

func hasDuplicates(s []string) bool {
	c := slices.Clone(s)
	slices.Sort(c)
	return len(slices.Compact(c)) != len(s)
}

// ScanTrigger says what started a scan.
type ScanTrigger string

const (
	TriggerAPI      ScanTrigger = "api"
	TriggerSchedule ScanTrigger = "schedule"
	// TriggerOrganization: a member's scan, started by its organization's
	// scan (ParentScanID names it; orgscan.go).
	TriggerOrganization ScanTrigger = "organization"
	// TriggerChange: started by the change events of the integration's
	// account (recheck.go): a re-check of the resources they name, or a
	// full scan when they name more than MaxRecheckResources.
	TriggerChange ScanTrigger = "change"
)

// ScanTriggers are every trigger.
var ScanTriggers = []ScanTrigger{TriggerAPI, TriggerSchedule, TriggerOrganization, TriggerChange}

// ScanStatus is the life cycle of a scan.
type ScanStatus string

const (
	ScanQueued    ScanStatus = "queued"
	ScanRunning   ScanStatus = "running"
	ScanSucceeded ScanStatus = "succeeded"
	ScanFailed    ScanStatus = "failed"
	// ScanTimedOut: the execution hit its timeout (no Catch sees it).
	ScanTimedOut ScanStatus = "timed_out"
	// ScanCancelled: the execution was stopped (POST /scans/{id}/cancel or
	// the console).
	ScanCancelled ScanStatus = "cancelled"
)

// ScanStatuses are every scan status, in life-cycle order.
var ScanStatuses = []ScanStatus{ScanQueued, ScanRunning, ScanSucceeded, ScanFailed, ScanTimedOut, ScanCancelled}

// Active reports whether a scan in this status still holds its integration.
func (s ScanStatus) Active() bool { return s == ScanQueued || s == ScanRunning }

// Ended reports whether the status is an end state: a scan in it never
// changes again.
func (s ScanStatus) Ended() bool { return slices.Contains(ScanStatuses, s) && !s.Active() }

// NeedsCause reports whether a scan in this status must say why it ended.
func (s ScanStatus) NeedsCause() bool { return s == ScanFailed || s == ScanTimedOut }

// Scan is one run of the state machine for an integration. Scan ids sort by
// creation time (see NewScanID), so "newest first" is a key order.
type Scan struct {
	ID            string      `json:"id"`
	IntegrationID string      `json:"integration_id"`
	FolderID      string      `json:"folder_id"`
	Trigger       ScanTrigger `json:"trigger"`
	Status        ScanStatus  `json:"status"`
	FailureCause  string      `json:"failure_cause,omitempty"`
	// CancelledBy is who cancelled the scan (the API caller), when known.
	CancelledBy  string       `json:"cancelled_by,omitempty" dynamo:",omitempty"`
	ExecutionARN string       `json:"execution_arn,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	StartedAt    time.Time    `json:"started_at,omitzero"`
	FinishedAt   time.Time    `json:"finished_at,omitzero"`
	Summary      *ScanSummary `json:"summary,omitempty"`
	// Kind is KindOrganization for an organization's scan (its members'
	// scans under it, orgscan.go), empty for an account's.
	Kind IntegrationKind `json:"kind,omitempty" dynamo:",omitempty"`
	// ParentScanID is the organization scan that started this member
	// scan (trigger organization).
	ParentScanID string `json:"parent_scan_id,omitempty" dynamo:",omitempty"`
	// Organization is an organization scan's roll-up of its members, once
	// it has ended.
	Organization *OrgScanSummary `json:"organization,omitempty" dynamo:",omitempty"`
	// Recheck is set on a re-check: it covers only the resources its
	// change events named (recheck.go).
	Recheck *Recheck `json:"recheck,omitempty" dynamo:",omitempty"`
}

// Validate checks a scan record.
func (s Scan) Validate() error {
	var errs fieldErrors
	errs.add(s.ID == "", "id is required")
	errs.add(s.IntegrationID == "", "integration_id is required")
	errs.add(!slices.Contains(ScanTriggers, s.Trigger), fmt.Sprintf("trigger %q must be api, schedule, organization or change", s.Trigger))
	errs.add((s.Trigger == TriggerOrganization) != (s.ParentScanID != ""), "a scan has a parent_scan_id exactly when its trigger is organization")
	errs.add(s.ParentScanID != "" && !ValidID(s.ParentScanID), fmt.Sprintf("parent_scan_id %q is not a scan id", s.ParentScanID))
	errs.add(s.Kind != "" && s.Kind != KindOrganization, fmt.Sprintf("kind %q must be empty or %s", s.Kind, KindOrganization))
	errs.add(s.Kind == KindOrganization && s.ParentScanID != "", "an organization's scan has no parent scan")
	errs.add(s.Organization != nil && s.Kind != KindOrganization, "organization is only for an organization's scan")
	errs.add(!slices.Contains(ScanStatuses, s.Status), fmt.Sprintf("status %q is not a scan status", s.Status))
	errs.add(s.Status.NeedsCause() && s.FailureCause == "", fmt.Sprintf("a %s scan needs its failure_cause", s.Status))
	errs.add(s.CancelledBy != "" && s.Status != ScanCancelled, "cancelled_by is only for a cancelled scan")
	errs.add(s.Recheck != nil && s.Trigger != TriggerChange, "recheck is only for a scan of trigger change")
	return errs.err("scan")
}

// IsOrganization reports whether the scan is an organization's.
func (s Scan) IsOrganization() bool { return s.Kind == KindOrganization }
