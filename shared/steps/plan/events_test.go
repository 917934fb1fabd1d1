package plan_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// TestSampleEvents: the sample events decode, strictly, into PlanInput.
func TestSampleEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "events", "plan", "*.json"))
	if len(files) == 0 {
		t.Fatal("no sample events under events/plan")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var in citadel.PlanInput
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if !citadel.ValidID(in.Scan.ScanID) || in.Scan.IntegrationID == "" || (in.Scan.Trigger != citadel.TriggerAPI && in.Scan.Trigger != citadel.TriggerSchedule) {
			t.Errorf("%s: incomplete scan %+v", filepath.Base(f), in.Scan)
		}
	}
}
