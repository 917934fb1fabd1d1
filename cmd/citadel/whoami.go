package main

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/citadelsecure/citadel/shared/httpapi"
)

// whoami asks the deployment who the CLI is and what it may do (GET /me).
// A SigV4 caller's route access is IAM's (the stack's per-role policies),
// so the API lists every permission, each still subject to IAM.
func whoami(ctx context.Context, args []string, out io.Writer) error {
	var t target
	fs := newFlags("whoami", "whoami", &t)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	r, err := t.connect(ctx, out)
	if err != nil {
		return err
	}
	var me httpapi.MeView
	if err := r.call(ctx, http.MethodGet, "/me", nil, nil, &me); err != nil || r.json {
		return err
	}
	roles := make([]string, 0, len(me.Roles))
	for _, ro := range me.Roles {
		roles = append(roles, string(ro))
	}
	perms := make([]string, 0, len(me.Permissions))
	for _, p := range me.Permissions {
		perms = append(perms, string(p))
	}
	return fields(out, "caller", me.Caller, "via", me.Via, "roles", orDash(strings.Join(roles, ", ")),
		"permissions", strings.Join(perms, ", "))
}
