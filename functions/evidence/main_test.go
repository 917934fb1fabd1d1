package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/steptest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// The built bootstrap, under the Lambda Runtime Interface Emulator, records
// one evidence record per result of the sample event's scan; a second run
// over the same results adds no revision.
func TestBootstrapUnderEmulator(t *testing.T) {
	ctx := context.Background()
	root := testenv.RepoRoot()
	cfg := testenv.Config(t)
	_, table := testenv.Table(t, cfg)
	_, bucket := testenv.Bucket(t, cfg)
	store := testenv.StoreOn(t, cfg, table)
	steptest.SeedSampleScan(t, ctx, store)
	steptest.RunControls(t, ctx, store)

	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "evidence"), map[string]string{citadel.EnvTable: table, citadel.EnvBucket: bucket})
	event := lambdatest.Event(t, root, "evidence", "scan.json")
	run := func() citadel.EvidenceOutput {
		t.Helper()
		resp, err := fn.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var out citadel.EvidenceOutput
		if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
			t.Fatalf("response = %s", resp.Payload)
		}
		out.Usage = citadel.Usage{}
		return out
	}
	// Links: the root result to IAC-06.1 and IAC-06, each bucket result to CRY-05.
	if got, want := run(), (citadel.EvidenceOutput{EvidenceCreated: 3, LinksCreated: 4}); got != want {
		t.Errorf("first run = %+v\nwant        %+v", got, want)
	}
	if got, want := run(), (citadel.EvidenceOutput{}); got != want {
		t.Errorf("second run = %+v\nwant         %+v", got, want)
	}

	// A plan without a scan is refused with the domain error's message.
	resp, err := fn.Invoke(ctx, []byte(`{"plan":{"integration_id":"int-demo","folder_id":"default"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || strings.HasPrefix(resp.ErrorType, "Runtime.") || !strings.Contains(resp.ErrorMsg, "the plan needs folder_id") {
		t.Errorf("bad event: got %s, want a function error", resp.Payload)
	}
}
