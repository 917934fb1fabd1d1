package plan_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/plan"
)

func TestNarrow(t *testing.T) {
	mapped := []string{"a_check", "b_check", "c_check"}
	cases := []struct {
		name string
		only []string
		want []string
	}{
		{name: "no subset: every check", want: mapped},
		{name: "a subset, in the mapped order", only: []string{"c_check", "a_check"}, want: []string{"a_check", "c_check"}},
		{name: "unmapped checks are left out", only: []string{"b_check", "z_check"}, want: []string{"b_check"}},
		{name: "nothing in common", only: []string{"z_check"}, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, plan.Narrow(mapped, tc.only)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestPlanCheckSubset: an integration's check subset narrows the checks file
// after the frameworks' selection; a subset outside the frameworks is
// refused before anything is written.
func TestPlanCheckSubset(t *testing.T) {
	e := setup(t, catalog)
	ctx := context.Background()
	pinned := citadel.Integration{ID: "int-pinned", FolderID: "fld-1", Name: "pinned", AccountID: "111122223333",
		Frameworks: []string{"soc2_aws"}, Checks: []string{"s3_bucket_default_encryption", "iam_root_mfa_enabled"}, CreatedAt: created, UpdatedAt: created}
	outside := pinned
	outside.ID, outside.FolderID, outside.Checks = "int-outside", "fld-2", []string{"iam_root_mfa_enabled"}
	for _, in := range []citadel.Integration{pinned, outside} {
		if err := e.store.CreateIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
		e.queue(t, in.ID, "scan-"+in.ID)
	}

	out, err := e.h.Handle(ctx, citadel.PlanInput{Scan: citadel.StartScan{ScanID: "scan-int-pinned", IntegrationID: pinned.ID, Trigger: citadel.TriggerAPI}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := e.object(t, out.ChecksKey)
	if out.ChecksPlanned != 1 || body != `{"aws":["s3_bucket_default_encryption"]}` {
		t.Errorf("%d checks planned, checks file %s; want the SOC 2 check of the subset only", out.ChecksPlanned, body)
	}

	_, err = e.h.Handle(ctx, citadel.PlanInput{Scan: citadel.StartScan{ScanID: "scan-int-outside", IntegrationID: outside.ID, Trigger: citadel.TriggerAPI}})
	if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), "none of the 1 checks of integration int-outside maps to its frameworks") {
		t.Errorf("a subset outside the frameworks: %v", err)
	}
	if _, ok := e.object(t, "scans/scan-int-outside/checks.json"); ok {
		t.Error("a checks file was written for the refused plan")
	}
}
