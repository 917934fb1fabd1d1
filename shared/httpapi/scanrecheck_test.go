package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestGetScanOfARecheck: a scan the change events started (trigger
// change) shows what it re-checks, as the document declares, and is listed
// with the integration's scans.
func TestGetScanOfARecheck(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0")
	ctx := context.Background()
	in := f.createIntegration(validIntegration)
	rc := citadel.RecheckFile{IntegrationID: in.ID, ARNs: []string{"arn:aws:s3:::citadel-demo-logs"}, Services: []string{"s3"},
		Events: 12, FirstEventAt: t0, LastEventAt: t0.Add(40e9)}.Recheck("scans/scan-rc/recheck.json")
	sc := citadel.Scan{ID: "scan-rc", IntegrationID: in.ID, FolderID: in.FolderID, Trigger: citadel.TriggerChange,
		Status: citadel.ScanQueued, CreatedAt: t0, Recheck: &rc}
	if err := f.store.StartScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	rec := f.do("GET", "/scans/"+sc.ID, "")
	expect(t, rec, http.StatusOK, "", "")
	got := decodeBody[citadel.Scan](t, rec)
	if got.Trigger != citadel.TriggerChange || got.Recheck == nil || got.Recheck.Resources != 1 || got.Recheck.Events != 12 {
		t.Fatalf("GET /scans/%s = %+v, want the re-check of 1 resource from 12 events", sc.ID, got)
	}
	list := f.do("GET", "/integrations/"+in.ID+"/scans", "")
	expect(t, list, http.StatusOK, "", "")
	if !strings.Contains(list.Body.String(), `"recheck":{`) {
		t.Errorf("the scans' list does not show the re-check: %s", list.Body.String())
	}
}
