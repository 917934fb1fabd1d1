// Package demoestate seeds the demo's AWS estate into an account on the local
// AWS server (moto): two regions and a realistic mix of resources, some with
// deliberate misconfigurations, and says what Prowler must report on them.
// `citadel demo` (make demo) and the end-to-end test of cmd/citadel use it;
// it lives under the command because nothing else may. One file per seeding
// step, named after it (kms.go, iam.go, network.go ...), in Seed's order.
//
// Seeding is sequential and its requests are always the same, so after
// moto's random generator is seeded (POST /moto-api/seed) the resource ids —
// VPCs, instances, volumes, KMS keys — are the same on every run: a rescan of
// a fresh server finds the same assets. Keep Seed's order of calls when
// editing a step: it decides the ids.
package demoestate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/citadelsecure/citadel/shared/awsx"
)

// The demo's target account, reached through its scanner role.
const (
	AccountID  = "111122223333"
	RoleName   = "CitadelScanner"
	ExternalID = "citadel-demo"
	East       = "us-east-1"
	West       = "eu-west-1"
)

// Regions are the estate's regions, in the integration's order.
var Regions = []string{East, West}

// RoleARN is the scanner role the integration assumes.
func RoleARN(account string) string { return fmt.Sprintf("arn:aws:iam::%s:role/%s", account, RoleName) }

// Expect is what Prowler must report: a check's status on a resource (the
// ARN asset sync stores).
type Expect struct {
	Check    string
	Resource string
	Status   string // PASS or FAIL
}

// Estate is what Seed created.
type Estate struct {
	AccountID string
	// Resources names every created resource by a short name ("vpc-east",
	// "bucket-public" ...): its ARN.
	Resources map[string]string
	// Expect lists the findings Prowler must report on the estate for
	// Checks.
	Expect []Expect
	// Requests is the number of API calls the seeding made.
	Requests int
}

// seeder runs the calls in order and keeps the first error.
type seeder struct {
	ctx     context.Context
	account string
	err     error
	calls   int
	e       *Estate
}

func (s *seeder) ok(what string, err error) bool {
	s.calls++
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("seed %s: %w", what, err)
	}
	return s.err == nil
}

func (s *seeder) add(check, name, status string) {
	s.e.Expect = append(s.e.Expect, Expect{Check: check, Resource: s.e.Resources[name], Status: status})
}

func (s *seeder) res(name, arn string) string {
	s.e.Resources[name] = arn
	return arn
}

// Target returns the configuration of the demo account: the scanner role
// assumed from cfg (moto keeps accounts apart and hands out credentials for
// the role's account).
func Target(cfg aws.Config, account string) aws.Config {
	return awsx.AssumeRole(cfg, RoleARN(account), ExternalID, "citadel-demo-seed")
}

// Seed creates the estate in the account behind cfg (see Target), one call
// after the other. It stops at the first failure.
func Seed(ctx context.Context, cfg aws.Config, account string) (Estate, error) {
	return seed(ctx, cfg, account, func(s *seeder) []func(aws.Config, aws.Config) {
		return []func(aws.Config, aws.Config){s.kms, s.iam, s.network, s.storage, s.compute, s.data, s.messaging, s.logging}
	})
}

// seed runs the steps that steps names, in its order.
func seed(ctx context.Context, cfg aws.Config, account string, steps func(*seeder) []func(aws.Config, aws.Config)) (Estate, error) {
	e := Estate{AccountID: account, Resources: map[string]string{}}
	s := &seeder{ctx: ctx, account: account, e: &e}
	east, west := inRegion(cfg, East), inRegion(cfg, West)
	for _, step := range steps(s) {
		step(east, west)
		if s.err != nil {
			break
		}
	}
	e.Requests = s.calls
	return e, s.err
}

func inRegion(cfg aws.Config, region string) aws.Config {
	c := cfg.Copy()
	c.Region = region
	return c
}

func lastID(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' || arn[i] == ':' {
			return arn[i+1:]
		}
	}
	return arn
}
