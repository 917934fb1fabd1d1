package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/testkit/lambdatest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
	"github.com/citadelsecure/citadel/shared/tokenscopes"
)

// The built bootstrap, under the Lambda Runtime Interface Emulator, answers
// each sample event of events/token-scopes as Cognito reads it: the role
// scopes of the user's groups added, a scope no group grants suppressed,
// the groups repeated. It needs no environment and makes no AWS call.
func TestBootstrapUnderEmulator(t *testing.T) {
	root := testenv.RepoRoot()
	fn := lambdatest.Start(t, root, lambdatest.Build(t, root, "token-scopes"), nil)
	type answer struct{ Add, Suppress, Groups []string }
	tests := []struct {
		event string
		want  answer
	}{
		{"hosted-auth.json", answer{Add: []string{"citadel/auditor", "citadel/operator"}, Suppress: []string{},
			Groups: []string{"operator", "auditor", "developers"}}},
		{"forged-admin.json", answer{Add: []string{}, Suppress: []string{"citadel/admin"}, Groups: []string{}}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			resp, err := fn.Invoke(ctx, lambdatest.Event(t, root, "token-scopes", tt.event))
			if err != nil {
				t.Fatal(err)
			}
			var out tokenscopes.Event
			if resp.ErrorType != "" || json.Unmarshal(resp.Payload, &out) != nil {
				t.Fatalf("response = %s %s", resp.ErrorType, resp.Payload)
			}
			d := out.Response.ClaimsAndScopeOverrideDetails
			got := answer{d.AccessTokenGeneration.ScopesToAdd, d.AccessTokenGeneration.ScopesToSuppress, d.GroupOverrideDetails.GroupsToOverride}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}

	// A V1_0 trigger's event is refused, naming the fix.
	resp, err := fn.Invoke(ctx, []byte(`{"version":"1","triggerSource":"TokenGeneration_HostedAuth","userName":"ana"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorType == "" || !strings.Contains(resp.ErrorMsg, "must be V2_0") {
		t.Errorf("V1 event: got %s %q, want an error naming V2_0", resp.ErrorType, resp.ErrorMsg)
	}
}
