// Package verify answers what an integration's scanner role may read. It
// assumes the role with the integration's ExternalId (as the scans do, with
// awsx.AssumeRole), checks that the credentials are of the integration's
// account, then runs every inventory collector once in each region and
// reports, service by service and scope by scope, what it could list and
// what was refused.
//
// `citadel integrations verify` (the CLI, with the caller's credentials)
// and POST /integrations/{id}/verify (the API, with its own) both run Run;
// the API bounds the whole run (Options.Timeout) to stay under API
// Gateway's 30 s, and a scope that has not finished by then is reported
// not ok with code inventory.CodeTimeout instead of failing the verify.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/inventory"
)

// SessionName is the role session a verify assumes the role as.
const SessionName = "citadel-verify"

// DefaultScopeTimeout bounds one collector in one scope when Options names
// no bound.
const DefaultScopeTimeout = 30 * time.Second

// Report is what a verify found (the CLI's -o json; the API's answer adds
// whether the role was assumed).
type Report struct {
	IntegrationID string `json:"integration_id"`
	AccountID     string `json:"account_id"`
	RoleARN       string `json:"role_arn,omitempty"`
	// AssumedAs is the identity the role's credentials have.
	AssumedAs string          `json:"assumed_as"`
	Regions   []string        `json:"regions"`
	Services  []ServiceAccess `json:"services"`
	Denied    int             `json:"denied"`
}

// ServiceAccess is one service's scopes: what the scanner may list there.
type ServiceAccess struct {
	Service string        `json:"service"`
	Scopes  []ScopeAccess `json:"scopes"`
}

// ScopeAccess is one collector in one region (or "global").
type ScopeAccess struct {
	ResourceType string `json:"resource_type"`
	Region       string `json:"region"`
	OK           bool   `json:"ok"`
	Resources    int    `json:"resources"`
	Code         string `json:"code,omitempty"`
	Error        string `json:"error,omitempty"`
}

// Scopes counts the report's scopes.
func (r Report) Scopes() int {
	n := 0
	for _, s := range r.Services {
		n += len(s.Scopes)
	}
	return n
}

// Options tune Run. The zero value is the CLI's: no overall bound, 30 s a
// scope, inventory's parallelism, every collector of inventory.Default().
type Options struct {
	// Timeout bounds the whole verify, STS included (0: no bound but each
	// scope's). A scope still running, or not started, when it runs out is
	// reported not ok with code inventory.CodeTimeout.
	Timeout time.Duration
	// ScopeTimeout bounds one collector in one scope (default
	// DefaultScopeTimeout).
	ScopeTimeout time.Duration
	// Parallelism is how many scopes are collected at once (default
	// inventory's).
	Parallelism int
	// Registry is the collectors to run (default inventory.Default()).
	Registry inventory.Registry
	// Log receives the collectors' logs (default: discarded).
	Log *slog.Logger
}

// AssumeError is a verify that got no credentials of the integration's
// account: the role could not be assumed with the integration's ExternalId
// (Err, STS's error), or its credentials are of another account (Account).
// The target account is misconfigured, not the request.
type AssumeError struct {
	RoleARN   string
	AccountID string // the integration's account
	Account   string // the credentials' account, when they are of another
	Err       error
}

func (e *AssumeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("the role's credentials are of account %s, not of the integration's account %s", e.Account, e.AccountID)
	}
	role := e.RoleARN
	if role == "" {
		role = "-"
	}
	return fmt.Sprintf("assume %s with its ExternalId: %v (is the scanner role deployed in account %s?)", role, e.Err, e.AccountID)
}

func (e *AssumeError) Unwrap() error { return e.Err }

// Run assumes the integration's role with cfg's credentials (an integration
// without a role is read with cfg's own) and runs the collectors in regions:
// those given, else the account's enabled regions. It fails with an
// *AssumeError when no credentials of the account could be had, and
// otherwise only when the enabled regions cannot be listed; every scope's
// own failure is in the report.
func Run(ctx context.Context, cfg aws.Config, in citadel.Integration, regions []string, opt Options) (Report, error) {
	if opt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opt.Timeout)
		defer cancel()
	}
	rep := Report{IntegrationID: in.ID, AccountID: in.AccountID, RoleARN: in.RoleARN, Regions: regions}
	scan := awsx.AssumeRole(cfg, in.RoleARN, in.ExternalID, SessionName)
	id, err := sts.NewFromConfig(scan).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return rep, &AssumeError{RoleARN: in.RoleARN, AccountID: in.AccountID, Err: err}
	}
	rep.AssumedAs = aws.ToString(id.Arn)
	if got := aws.ToString(id.Account); got != in.AccountID {
		return rep, &AssumeError{RoleARN: in.RoleARN, AccountID: in.AccountID, Account: got}
	}
	if len(regions) == 0 {
		if regions, err = inventory.EnabledRegions(ctx, scan); err != nil {
			return rep, fmt.Errorf("enabled regions of account %s: %w", in.AccountID, err)
		}
	}
	rep.Regions = regions
	reg := opt.Registry
	if reg == nil {
		reg = inventory.Default()
	}
	scope := opt.ScopeTimeout
	if scope <= 0 {
		scope = DefaultScopeTimeout
	}
	if opt.Timeout > 0 {
		scope = min(scope, opt.Timeout)
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	results := inventory.Run(ctx, scan, in.AccountID, regions, reg, inventory.Options{Parallelism: opt.Parallelism, Timeout: scope, Log: log})
	by := map[string]*ServiceAccess{}
	for _, res := range results {
		s := by[res.Service]
		if s == nil {
			s = &ServiceAccess{Service: res.Service}
			by[res.Service] = s
		}
		sc := ScopeAccess{ResourceType: res.ResourceType, Region: res.Region, OK: res.Err == nil, Resources: len(res.Batch.Assets)}
		if res.Err != nil {
			sc.Code, sc.Error = inventory.ErrorCode(res.Err), res.Err.Error()
			if opt.Timeout > 0 && ctx.Err() != nil && cutOff(res.Err) {
				sc.Code, sc.Error = inventory.CodeTimeout, fmt.Sprintf("did not finish within the verify's %s", opt.Timeout)
			}
			rep.Denied++
		}
		s.Scopes = append(s.Scopes, sc)
	}
	for _, s := range by {
		rep.Services = append(rep.Services, *s)
	}
	sort.Slice(rep.Services, func(i, j int) bool { return rep.Services[i].Service < rep.Services[j].Service })
	return rep, nil
}

// cutOff reports whether a scope's error is its context ending (the
// verify's bound), not an answer of AWS.
func cutOff(err error) bool {
	return inventory.ErrorCode(err) == inventory.CodeTimeout || errors.Is(err, context.Canceled)
}

// Verifier runs Run with one AWS configuration's credentials (the API's).
type Verifier struct {
	Config aws.Config
	// Registry, when set, replaces the collectors of an Options that names
	// none (tests inject slow or failing ones).
	Registry inventory.Registry
}

// Verify runs Run with v's credentials.
func (v *Verifier) Verify(ctx context.Context, in citadel.Integration, regions []string, opt Options) (Report, error) {
	if opt.Registry == nil {
		opt.Registry = v.Registry
	}
	return Run(ctx, v.Config, in, regions, opt)
}

// Region is the region of v's configuration: the deployment's.
func (v *Verifier) Region() string { return v.Config.Region }
