// Package tokenscopes decides the roles a console user's access token
// carries. The user pool's pre token generation trigger (V2_0, the Lambda
// functions/token-scopes) hands it each token Cognito is about to issue: the
// token gets the OAuth scope citadel/<role> for each of the user's groups
// that is a role (citadel.Roles), and loses every other citadel/ scope it
// would have carried (one the client asked for without the group behind
// it). API Gateway's JWT authorizer then matches the route's scopes, and
// the handler reads the roles back from them (citadel.RolesOfScopes).
package tokenscopes

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// Event is the trigger's event and answer (version 2 and later share it).
type Event = events.CognitoEventUserPoolsPreTokenGenV2_0

// Decision is what to change in the access token's scopes.
type Decision struct {
	Add      []string // the scopes of the user's roles the token lacks
	Suppress []string // the citadel/ scopes the token holds that no group grants
}

// Decide maps a user's groups and the scopes the token would carry to the
// change: groups named as a role grant its scope, other groups are
// ignored, and any citadel/ scope not granted (a role's or not) goes. Both
// lists are sorted and free of duplicates.
func Decide(groups, scopes []string) Decision {
	granted := map[string]bool{}
	for _, g := range groups {
		if r := citadel.Role(g); r.Valid() {
			granted[r.Scope()] = true
		}
	}
	var d Decision
	for s := range granted {
		if !slices.Contains(scopes, s) {
			d.Add = append(d.Add, s)
		}
	}
	for _, s := range scopes {
		if strings.HasPrefix(s, citadel.ScopePrefix) && !granted[s] && !slices.Contains(d.Suppress, s) {
			d.Suppress = append(d.Suppress, s)
		}
	}
	slices.Sort(d.Add)
	slices.Sort(d.Suppress)
	return d
}

// Handler answers the trigger.
type Handler struct {
	Log *slog.Logger // nil: slog's default
}

// Handle fills the event's answer with the access token's scope changes.
// An event of another version (a pool whose trigger is V1_0, which cannot
// change access tokens) is refused, so a misconfigured pool fails its
// sign-ins loudly rather than issuing tokens without roles.
func (h *Handler) Handle(ctx context.Context, ev Event) (Event, error) {
	if ev.Version != "2" && ev.Version != "3" {
		return ev, fmt.Errorf("pre token generation event version %q: the trigger must be V2_0 (access token customization)", ev.Version)
	}
	d := Decide(ev.Request.GroupConfiguration.GroupsToOverride, ev.Request.Scopes)
	out := &ev.Response.ClaimsAndScopeOverrideDetails
	out.AccessTokenGeneration.ScopesToAdd = orEmpty(d.Add)
	out.AccessTokenGeneration.ScopesToSuppress = orEmpty(d.Suppress)
	// The answer always carries groupOverrideDetails (the struct has no
	// omitempty): it repeats the user's own groups, so the tokens'
	// cognito:groups stay as they are.
	out.GroupOverrideDetails = ev.Request.GroupConfiguration
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "token scopes", "user", ev.UserName, "trigger", ev.TriggerSource,
		"roles", citadel.RolesOfScopes(append(slices.Clone(d.Add), keep(ev.Request.Scopes, d.Suppress)...)),
		"added", d.Add, "suppressed", d.Suppress)
	return ev, nil
}

// orEmpty is s, or an empty list for nil (JSON [] rather than null).
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// keep is scopes less those in drop.
func keep(scopes, drop []string) []string {
	var out []string
	for _, s := range scopes {
		if !slices.Contains(drop, s) {
			out = append(out, s)
		}
	}
	return out
}
