package citadel

import (
	"slices"
	"strings"
)

// Role is what a person may do in a deployment. The console's users get
// theirs from the user pool's groups (a group per role); IAM callers from
// the stack's per-role policies.
type Role string

// The roles, from the most to the least powerful.
const (
	RoleAdmin    Role = "admin"    // integrations, schedules, folders, mapping corrections, assessments
	RoleOperator Role = "operator" // starts and cancels scans, requests exceptions
	RoleAuditor  Role = "auditor"  // reviews evidence, decides exceptions, exports
	RoleViewer   Role = "viewer"   // reads
)

// Roles lists every role, admin first.
var Roles = []Role{RoleAdmin, RoleOperator, RoleAuditor, RoleViewer}

// Permission is what an API operation needs: the OpenAPI document gives
// every operation one (x-citadel-permission).
type Permission string

const (
	PermRead   Permission = "read"   // every role
	PermScan   Permission = "scan"   // start and cancel scans
	PermReview Permission = "review" // approve or reject evidence; approve, reject or revoke exceptions
	PermAdmin  Permission = "admin"  // change integrations, folders, mappings, assessments
	// PermException: request an exception (a risk acceptance). Deciding it
	// is PermReview's, and never its requester's (Exception.Decide).
	PermException Permission = "exception"
	// PermExport: export a framework's findings, controls and evidence
	// (POST /exports) and read the exports.
	PermExport Permission = "export"
)

// Permissions lists every permission.
var Permissions = []Permission{PermRead, PermScan, PermReview, PermAdmin, PermException, PermExport}

// permissionRoles says which roles hold a permission. Admin holds them all:
// the approver of later issues is "auditor or admin".
var permissionRoles = map[Permission][]Role{
	PermRead:   {RoleAdmin, RoleOperator, RoleAuditor, RoleViewer},
	PermScan:   {RoleAdmin, RoleOperator},
	PermReview: {RoleAdmin, RoleAuditor},
	PermAdmin:  {RoleAdmin},
	// Every role that works on the estate may ask for an exception; a
	// viewer only reads.
	PermException: {RoleAdmin, RoleOperator, RoleAuditor},
	// What an auditor takes away: the auditor's, and the admin's.
	PermExport: {RoleAdmin, RoleAuditor},
}

// RolesWith lists the roles holding p (nil for an unknown permission).
func RolesWith(p Permission) []Role { return slices.Clone(permissionRoles[p]) }

// Allows says whether r holds p.
func (r Role) Allows(p Permission) bool { return slices.Contains(permissionRoles[p], r) }

// Valid says whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// PermissionsOf lists the permissions r holds.
func PermissionsOf(r Role) []Permission {
	var out []Permission
	for _, p := range Permissions {
		if r.Allows(p) {
			out = append(out, p)
		}
	}
	return out
}

// ScopePrefix starts the OAuth scope of each role in the console's access
// tokens ("citadel/admin"): the user pool's resource server identifier. The
// API Gateway's JWT routes require one of their roles' scopes, and the
// handler reads the roles back from them.
const ScopePrefix = "citadel/"

// Scope is r's OAuth scope.
func (r Role) Scope() string { return ScopePrefix + string(r) }

// RolesOfScopes picks the roles out of a token's scopes, in Roles' order;
// scopes of no role are ignored.
func RolesOfScopes(scopes []string) []Role {
	var out []Role
	for _, r := range Roles {
		if slices.ContainsFunc(scopes, func(s string) bool { return strings.TrimSpace(s) == r.Scope() }) {
			out = append(out, r)
		}
	}
	return out
}

// AnyAllows says whether one of roles holds p.
func AnyAllows(roles []Role, p Permission) bool {
	return slices.ContainsFunc(roles, func(r Role) bool { return r.Allows(p) })
}
