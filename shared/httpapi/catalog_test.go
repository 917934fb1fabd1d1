package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

func TestCatalogStatusAndScansRefusedUpFront(t *testing.T) {
	ctx := context.Background()
	// The catalog state machine is one of moto's, beside the scan's.
	f := newFixture(t, func(d *Deps) { d.CatalogRuns = d.Executions.(*sfn.Client) })
	out, err := f.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.Name(t, "citadel-catalog")),
		Definition: aws.String(`{"StartAt":"export","States":{"export":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/citadel-states"),
	})
	if err != nil {
		t.Fatal(err)
	}
	catalogSM := aws.ToString(out.StateMachineArn)
	f.srv.CatalogStateMachineARN = catalogSM

	// Nothing loaded: the status says so, and a scan is refused before
	// anything is recorded.
	st := decodeBody[CatalogStatus](t, f.do("GET", "/catalog", ""))
	if st.Loaded || st.Version != nil || len(st.Frameworks) != 0 || st.LastLoad != nil {
		t.Errorf("empty catalog: %+v", st)
	}
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "not loaded yet") {
		t.Errorf("problems %q, want the catalog not loaded", st.Problems)
	}
	// An integration stored before any import (the API refuses one
	// without frameworks, and frameworks need the catalog).
	bare := citadel.Integration{ID: "int-bare", FolderID: testFolder, Name: "bare", AccountID: "210987654321", CreatedAt: t0, UpdatedAt: t0}
	if err := f.store.CreateIntegration(ctx, bare); err != nil {
		t.Fatal(err)
	}
	expect(t, f.do("POST", "/integrations/"+bare.ID+"/scans", ""), http.StatusConflict, "conflict", "the catalog is not loaded yet")
	if page, err := f.store.ListScans(ctx, bare.ID, 10, ""); err != nil || len(page.Items) != 0 {
		t.Fatalf("refused scan recorded: %+v, %v", page.Items, err)
	}
	if _, err := f.store.RunningScan(ctx, bare.ID); !citadel.IsNotFound(err) {
		t.Errorf("refused scan took the lock: %v", err)
	}

	// Loaded, with a failed load after it: both are shown.
	f.putFrameworks("cis_2.0", "soc2")
	v := citadel.CatalogVersion{ProwlerVersion: "5.40.0", SCFVersion: "2025.2.2", ImportedAt: t0,
		Counts:   citadel.CatalogCounts{Checks: 2, Frameworks: 2, Requirements: 2},
		Problems: []string{"skipped file compliance/aws/broken.json"}}
	if err := f.store.PutCatalogVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	exec, err := f.sfn.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(catalogSM), Input: aws.String(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: exec.ExecutionArn, Error: aws.String("States.Timeout"), Cause: aws.String("the export ran out of time")}); err != nil {
		t.Fatal(err)
	}
	st = decodeBody[CatalogStatus](t, f.do("GET", "/catalog", ""))
	if d := cmp.Diff(&v, st.Version); d != "" {
		t.Errorf("version (-want +got):\n%s", d)
	}
	want := []FrameworkRef{{ID: "cis_2.0", Name: "cis_2.0", Requirements: 1}, {ID: "soc2", Name: "soc2", Requirements: 1}}
	if d := cmp.Diff(want, st.Frameworks); d != "" {
		t.Errorf("frameworks (-want +got):\n%s", d)
	}
	if st.LastLoad == nil || st.LastLoad.Status != "ABORTED" || st.LastLoad.ExecutionARN != aws.ToString(exec.ExecutionArn) {
		t.Fatalf("last load: %+v", st.LastLoad)
	}
	if len(st.Problems) != 2 || st.Problems[0] != v.Problems[0] || !strings.Contains(st.Problems[1], "the last catalog load aborted") {
		t.Errorf("problems %q", st.Problems)
	}

	// A framework the catalog no longer has (a later import dropped it):
	// the scan is refused naming it.
	in := f.createIntegration(validIntegration)
	in.Frameworks = []string{"cis_2.0", "pci_4.0_aws"}
	if err := f.store.UpdateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	expect(t, f.do("POST", "/integrations/"+in.ID+"/scans", ""), http.StatusConflict, "conflict",
		"frameworks pci_4.0_aws are not in the loaded catalog (Prowler 5.40.0)")
	in.Frameworks = []string{"cis_2.0"}
	if err := f.store.UpdateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	expect(t, f.do("POST", "/integrations/"+in.ID+"/scans", ""), http.StatusAccepted, "", "")
}
