package citadel_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Add sums every count of a summary (a field added later is summed too,
// or this fails), and keeps the receiver's success, message and duration.
func TestScanSummaryAdd(t *testing.T) {
	var a, b citadel.ScanSummary
	va, vb := reflect.ValueOf(&a).Elem(), reflect.ValueOf(&b).Elem()
	for i := range va.NumField() {
		if va.Field(i).Kind() == reflect.Int {
			va.Field(i).SetInt(int64(i + 1))
			vb.Field(i).SetInt(100)
		}
	}
	a.Success, a.Message, a.DurationSeconds = true, "a", 5
	b.Success, b.Message, b.DurationSeconds = false, "b", 9
	got := reflect.ValueOf(a.Add(b))
	for i := range got.NumField() {
		f := got.Type().Field(i)
		switch f.Type.Kind() {
		case reflect.Int:
			if got.Field(i).Int() != int64(i+101) {
				t.Errorf("%s = %d, want %d", f.Name, got.Field(i).Int(), i+101)
			}
		default:
			if !reflect.DeepEqual(got.Field(i).Interface(), va.Field(i).Interface()) {
				t.Errorf("%s = %v, want the receiver's %v", f.Name, got.Field(i).Interface(), va.Field(i).Interface())
			}
		}
	}
}

func TestScanValidateOrganization(t *testing.T) {
	base := citadel.Scan{ID: "s1", IntegrationID: "i1", Trigger: citadel.TriggerAPI, Status: citadel.ScanQueued, CreatedAt: t0}
	member := base
	member.Trigger, member.ParentScanID = citadel.TriggerOrganization, "org-1"
	org := base
	org.Kind = citadel.KindOrganization
	summarized := org
	summarized.Organization = &citadel.OrgScanSummary{Members: 2}
	tests := []struct {
		name string
		sc   citadel.Scan
		want string // "" valid, else a part of the message
	}{
		{"an account scan", base, ""},
		{"a member scan", member, ""},
		{"an organization scan", org, ""},
		{"with its roll-up", summarized, ""},
		{"organization trigger, no parent", func() citadel.Scan { s := member; s.ParentScanID = ""; return s }(), "parent_scan_id exactly when"},
		{"a parent, api trigger", func() citadel.Scan { s := base; s.ParentScanID = "org-1"; return s }(), "parent_scan_id exactly when"},
		{"a bad parent id", func() citadel.Scan { s := member; s.ParentScanID = "a b"; return s }(), `parent_scan_id "a b" is not a scan id`},
		{"an organization scan with a parent", func() citadel.Scan { s := member; s.Kind = citadel.KindOrganization; return s }(), "has no parent scan"},
		{"a roll-up on an account scan", func() citadel.Scan { s := base; s.Organization = &citadel.OrgScanSummary{}; return s }(), "only for an organization's scan"},
		{"an unknown kind", func() citadel.Scan { s := base; s.Kind = "team"; return s }(), `kind "team"`},
		{"an unknown trigger", func() citadel.Scan { s := base; s.Trigger = "cron"; return s }(), "must be api, schedule, organization or change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.sc.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestClipReason(t *testing.T) {
	long := strings.Repeat("é", citadel.MaxMemberReason+5)
	tests := []struct{ in, want string }{
		{"  two\n lines ", "two lines"},
		{long, strings.Repeat("é", citadel.MaxMemberReason-1) + "…"},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, citadel.ClipReason(tt.in)); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	}
}

// An organization scan's steps are in OrgStepOrder: its current step is
// the Map's org-member from org-sync's end, org-summary after a failure.
func TestCurrentStepOfAnOrganizationScan(t *testing.T) {
	done := func(step string) citadel.StepProgress {
		return citadel.StepProgress{Step: step, Status: citadel.StepSucceeded, FinishedAt: t0}
	}
	tests := []struct {
		name  string
		steps []citadel.StepProgress
		want  string
	}{
		{"org-plan running", []citadel.StepProgress{{Step: citadel.StepOrgPlan, Status: citadel.StepRunning}}, citadel.StepOrgPlan},
		{"synced: the members", []citadel.StepProgress{done(citadel.StepOrgPlan), done(citadel.StepOrgSync)}, citadel.StepOrgMember},
		{"sync failed", []citadel.StepProgress{done(citadel.StepOrgPlan), {Step: citadel.StepOrgSync, Status: citadel.StepFailed}}, citadel.StepOrgSummary},
		{"summarized", []citadel.StepProgress{done(citadel.StepOrgPlan), done(citadel.StepOrgSync), done(citadel.StepOrgSummary)}, ""},
		{"an account scan still", []citadel.StepProgress{done(citadel.StepPlan)}, citadel.StepAssetSync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := citadel.CurrentStep(tt.steps); got != tt.want {
				t.Errorf("current step %q, want %q", got, tt.want)
			}
		})
	}
}
