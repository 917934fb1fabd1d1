package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// PermissionExtension names the permission an operation of openapi.yaml
// needs (citadel.Permission). Every operation has one: New refuses a
// document without it, and the CDK app reads it for the gateway's route
// scopes and the per-role IAM policies.
const PermissionExtension = "x-citadel-permission"

// How a caller was authenticated.
const (
	ViaIAM   = "iam"   // SigV4: API Gateway's IAM authorizer (scripts, the CLI)
	ViaJWT   = "jwt"   // a user pool's access token: the console
	ViaLocal = "local" // no API Gateway at all: citadel serve without a sign-in, tests
)

// Principal is who makes a request and what it may do.
type Principal struct {
	Caller string // the IAM principal's ARN, the token's user name, or "local"
	Via    string
	Roles  []citadel.Role // a token's roles (Via jwt); nil otherwise
}

// Allows says whether the principal may use an operation needing perm.
// IAM callers were authorized for the route by IAM already (the stack's
// per-role policies on execute-api:Invoke): the handler cannot see their
// policies and keeps the gateway's decision. A local caller is this
// machine's user (citadel serve listens on loopback only). A token's roles
// are checked here again, as the gateway's route scopes did.
func (p Principal) Allows(perm citadel.Permission) bool {
	switch p.Via {
	case ViaIAM, ViaLocal:
		return true
	case ViaJWT:
		return citadel.AnyAllows(p.Roles, perm)
	}
	return false
}

// Permissions lists what the principal may do.
func (p Principal) Permissions() []citadel.Permission {
	out := []citadel.Permission{}
	for _, perm := range citadel.Permissions {
		if p.Allows(perm) {
			out = append(out, perm)
		}
	}
	return out
}

// Who returns the request's principal as API Gateway's authorizer saw it.
// ok is false for a request that came through API Gateway with no
// authorizer's identity (a route left unauthorized: refused).
func Who(ctx context.Context) (p Principal, ok bool) {
	rc, through := core.GetAPIGatewayV2ContextFromContext(ctx)
	if !through {
		return Principal{Caller: ViaLocal, Via: ViaLocal}, true
	}
	a := rc.Authorizer
	switch {
	case a == nil:
		return Principal{}, false
	case a.IAM != nil:
		caller := a.IAM.UserARN
		if caller == "" {
			caller = a.IAM.CallerID
		}
		return Principal{Caller: caller, Via: ViaIAM}, caller != ""
	case a.JWT != nil:
		caller := a.JWT.Claims["username"]
		if caller == "" {
			caller = a.JWT.Claims["sub"]
		}
		scopes := a.JWT.Scopes
		if len(scopes) == 0 {
			// API Gateway fills scopes for routes that require some; the
			// claim is always there.
			scopes = strings.Fields(a.JWT.Claims["scope"])
		}
		return Principal{Caller: caller, Via: ViaJWT, Roles: citadel.RolesOfScopes(scopes)}, caller != ""
	}
	return Principal{}, false
}

// Caller returns who made the request (Principal.Caller; "" outside API
// Gateway) and API Gateway's request id ("" outside it).
func Caller(ctx context.Context) (caller, requestID string) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(ctx)
	if !ok {
		return "", ""
	}
	p, _ := Who(ctx)
	return p.Caller, rc.RequestID
}

// operationPermission reads an operation's permission from the document.
func operationPermission(op *openapi3.Operation) (citadel.Permission, error) {
	v, ok := op.Extensions[PermissionExtension]
	if !ok {
		return "", fmt.Errorf("operation %s has no %s", op.OperationID, PermissionExtension)
	}
	s, _ := v.(string)
	for _, p := range citadel.Permissions {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("operation %s: %s %v is none of %v", op.OperationID, PermissionExtension, v, citadel.Permissions)
}

// OperationPermissions maps every "METHOD /path" of the document to the
// permission it needs.
func OperationPermissions(doc *openapi3.T) (map[string]citadel.Permission, error) {
	out := map[string]citadel.Permission{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			p, err := operationPermission(op)
			if err != nil {
				return nil, err
			}
			out[method+" "+path] = p
		}
	}
	return out, nil
}

// authorize answers a 401 or 403 and returns false when the caller may not
// use an operation needing perm.
func authorize(w http.ResponseWriter, r *http.Request, perm citadel.Permission) bool {
	p, ok := Who(r.Context())
	if !ok {
		writeJSONError(w, http.StatusUnauthorized, "unauthorized", "the request carries no identity: sign in, or sign the request (SigV4)")
		return false
	}
	if !p.Allows(perm) {
		roles := make([]string, 0, len(p.Roles))
		for _, r := range p.Roles {
			roles = append(roles, string(r))
		}
		have := "no role"
		if len(roles) > 0 {
			have = "role " + strings.Join(roles, ", ")
		}
		need := []string{}
		for _, r := range citadel.RolesWith(perm) {
			need = append(need, string(r))
		}
		writeJSONError(w, http.StatusForbidden, "forbidden",
			fmt.Sprintf("%s has %s; this needs the %s permission (role %s)", p.Caller, have, perm, strings.Join(need, " or ")))
		return false
	}
	return true
}

// MeView is GET /me.
type MeView struct {
	Caller      string               `json:"caller"`
	Via         string               `json:"via"`
	Roles       []citadel.Role       `json:"roles"`
	Permissions []citadel.Permission `json:"permissions"`
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	p, _ := Who(r.Context())
	roles := p.Roles
	if roles == nil {
		roles = []citadel.Role{}
	}
	writeJSON(w, http.StatusOK, MeView{Caller: p.Caller, Via: p.Via, Roles: roles, Permissions: p.Permissions()})
	return nil
}
