package tokenscopes

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

func TestDecide(t *testing.T) {
	base := []string{"openid", "email", "profile"}
	cases := []struct {
		name           string
		groups, scopes []string
		want           Decision
	}{
		{"no group: no citadel scope", nil, base, Decision{}},
		{"one role", []string{"viewer"}, base, Decision{Add: []string{"citadel/viewer"}}},
		{"several roles, sorted", []string{"operator", "auditor", "admin"}, base,
			Decision{Add: []string{"citadel/admin", "citadel/auditor", "citadel/operator"}}},
		{"unknown groups ignored", []string{"developers", "Admin", "citadel/admin", "operator"}, base,
			Decision{Add: []string{"citadel/operator"}}},
		{"a requested admin scope without the group is suppressed", []string{"viewer"}, append(base, "citadel/admin"),
			Decision{Add: []string{"citadel/viewer"}, Suppress: []string{"citadel/admin"}}},
		{"a requested scope the group grants is kept, not added again", []string{"auditor"}, append(base, "citadel/auditor"),
			Decision{}},
		{"a citadel scope of no role is suppressed", nil, append(base, "citadel/root", "citadel/root"),
			Decision{Suppress: []string{"citadel/root"}}},
		{"other resource servers' scopes are left alone", nil, append(base, "other/admin", "aws.cognito.signin.user.admin"),
			Decision{}},
		{"a group twice", []string{"viewer", "viewer"}, nil, Decision{Add: []string{"citadel/viewer"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Decide(tc.groups, tc.scopes)); diff != "" {
				t.Errorf("Decide(%v, %v) (-want +got):\n%s", tc.groups, tc.scopes, diff)
			}
		})
	}
}

func TestHandle(t *testing.T) {
	event := func(version string, groups, scopes []string) Event {
		var ev Event
		ev.Version, ev.TriggerSource, ev.UserName = version, "TokenGeneration_HostedAuth", "ana"
		ev.Request.GroupConfiguration.GroupsToOverride = groups
		ev.Request.Scopes = scopes
		return ev
	}
	type answer struct {
		Add, Suppress, Groups []string
	}
	cases := []struct {
		name    string
		ev      Event
		want    answer
		wantErr string
	}{
		{"a viewer", event("2", []string{"viewer"}, []string{"openid"}),
			answer{Add: []string{"citadel/viewer"}, Suppress: []string{}, Groups: []string{"viewer"}}, ""},
		{"no group, a forged admin scope", event("2", nil, []string{"openid", "citadel/admin"}),
			answer{Add: []string{}, Suppress: []string{"citadel/admin"}}, ""},
		{"version 3 (M2M-capable) events have the same shape", event("3", []string{"admin"}, nil),
			answer{Add: []string{"citadel/admin"}, Suppress: []string{}, Groups: []string{"admin"}}, ""},
		{"a V1_0 trigger is refused", event("1", []string{"admin"}, nil), answer{}, `version "1": the trigger must be V2_0`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := &Handler{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
			got, err := h.Handle(context.Background(), tc.ev)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := got.Response.ClaimsAndScopeOverrideDetails
			a := answer{Add: d.AccessTokenGeneration.ScopesToAdd, Suppress: d.AccessTokenGeneration.ScopesToSuppress,
				Groups: d.GroupOverrideDetails.GroupsToOverride}
			if diff := cmp.Diff(tc.want, a); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if !strings.Contains(logs.String(), `"user":"ana"`) {
				t.Errorf("log line without the user: %s", logs.String())
			}
		})
	}
}

// The answer's JSON is what Cognito reads: lists, never null, for the
// scopes; the user's groups repeated.
func TestAnswerJSON(t *testing.T) {
	var ev events.CognitoEventUserPoolsPreTokenGenV2_0
	if err := json.Unmarshal([]byte(`{"version":"2","triggerSource":"TokenGeneration_Authentication","userName":"bo",
		"request":{"groupConfiguration":{"groupsToOverride":["operator"],"iamRolesToOverride":[],"preferredRole":null},
		"scopes":["openid","citadel/admin"]},"response":{}}`), &ev); err != nil {
		t.Fatal(err)
	}
	got, err := (&Handler{Log: slog.New(slog.DiscardHandler)}).Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got.Response.ClaimsAndScopeOverrideDetails)
	var m struct {
		AccessTokenGeneration map[string]any `json:"accessTokenGeneration"`
		GroupOverrideDetails  map[string]any `json:"groupOverrideDetails"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"scopesToAdd": []any{"citadel/operator"}, "scopesToSuppress": []any{"citadel/admin"},
		"claimsToAddOrOverride": nil, "claimsToSuppress": nil}
	if diff := cmp.Diff(want, m.AccessTokenGeneration); diff != "" {
		t.Errorf("accessTokenGeneration (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{"operator"}, m.GroupOverrideDetails["groupsToOverride"]); diff != "" {
		t.Errorf("groupsToOverride (-want +got):\n%s", diff)
	}
}
