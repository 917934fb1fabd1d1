// Package inventory collects an AWS account's resources as Citadel assets,
// with the named relationships between them.
//
// A Registry holds small Collectors, one per resource type. Each collects
// one scope: a (resource type, region) pair, or (resource type, "global") for
// IAM and S3, whose one listing covers the account. Run runs every collector
// in every scope concurrently and reports each scope's outcome on its own, so
// a failing collector (access denied, a region that is not enabled, a
// timeout) is reported and never hides the others' results; throttling is
// retried by the SDK's retryer (awsx.Load).
//
// Asset ARNs are the ones AWS returns, or, where an API returns none, built
// exactly as Prowler builds them (arns.go), because Prowler's findings are
// matched to assets by ARN.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// GlobalRegion is the scope region of collectors whose one listing covers
// every region (IAM, S3).
const GlobalRegion = "global"

// Edge is a relationship found by a collector, from one of its assets.
type Edge struct {
	From, To string
	Kind     citadel.RelationshipKind
}

// Batch is what one collector found in one scope.
type Batch struct {
	Assets []citadel.Asset
	Edges  []Edge
	// Aliases maps an ARN that is not an asset to the asset ARNs it stands
	// for (an instance profile to its roles): an edge to an alias is an edge
	// to each of its targets.
	Aliases map[string][]string
}

func (b *Batch) add(a citadel.Asset) { b.Assets = append(b.Assets, a) }

func (b *Batch) merge(parts []Batch) {
	for _, p := range parts {
		b.Assets = append(b.Assets, p.Assets...)
		b.Edges = append(b.Edges, p.Edges...)
	}
}

func (b *Batch) edge(from, to string, kind citadel.RelationshipKind) {
	if from != "" && to != "" {
		b.Edges = append(b.Edges, Edge{From: from, To: to, Kind: kind})
	}
}

// Env is what a collector needs to collect one scope: the account's AWS
// configuration with Region set to the scope's region (us-east-1 for global
// collectors), the region, the account and its partition.
type Env struct {
	Config    aws.Config
	Region    string
	AccountID string
	Partition string
}

// Collector collects one resource type.
type Collector interface {
	// ResourceType is the assets' service_type, "<service>:<type>".
	ResourceType() string
	// Service is the AWS service, the first part of the coverage scope.
	Service() string
	// Global reports whether one listing covers every region.
	Global() bool
	// Collect lists the type's resources in env's region (all of them for a
	// global collector; it keeps those in regions, see Env) with their edges.
	Collect(ctx context.Context, env Env, regions []string) (Batch, error)
}

// Registry is a set of collectors.
type Registry []Collector

// Lookup returns the collector of a resource type.
func (r Registry) Lookup(resourceType string) (Collector, bool) {
	for _, c := range r {
		if c.ResourceType() == resourceType {
			return c, true
		}
	}
	return nil, false
}

// ScopeRegion is the coverage region of an asset of this collector: its
// region, or GlobalRegion.
func ScopeRegion(c Collector, assetRegion string) string {
	if c.Global() {
		return GlobalRegion
	}
	return assetRegion
}

// Result is the outcome of one collector in one scope.
type Result struct {
	ResourceType string
	Service      string
	Region       string // the scope region: a region or GlobalRegion
	Batch        Batch
	Err          error
	Duration     time.Duration
}

// Options tune Run.
type Options struct {
	// Parallelism is how many scopes are collected at once (default 16).
	Parallelism int
	// Timeout bounds one collector in one scope (default 5 minutes); a scope
	// that runs out is reported as failed with code "Timeout".
	Timeout time.Duration
	Log     *slog.Logger
}

// Run runs every collector of the registry in every scope of regions and
// returns the results sorted by resource type then region. It never fails as
// a whole: each scope's error is in its Result.
func Run(ctx context.Context, cfg aws.Config, accountID string, regions []string, reg Registry, opt Options) []Result {
	if opt.Parallelism <= 0 {
		opt.Parallelism = 16
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Minute
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	type job struct {
		c      Collector
		region string
	}
	var jobs []job
	for _, c := range reg {
		if c.Global() {
			jobs = append(jobs, job{c, GlobalRegion})
			continue
		}
		for _, r := range regions {
			jobs = append(jobs, job{c, r})
		}
	}
	results := make([]Result, len(jobs))
	sem := make(chan struct{}, opt.Parallelism)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			region := j.region
			if region == GlobalRegion {
				region = homeRegion(regions)
			}
			c := cfg.Copy()
			c.Region = region
			env := Env{Config: c, Region: region, AccountID: accountID, Partition: Partition(region)}
			jctx, cancel := context.WithTimeout(ctx, opt.Timeout)
			defer cancel()
			start := time.Now()
			b, err := safeCollect(jctx, j.c, env, regions)
			if err != nil && jctx.Err() != nil && ctx.Err() == nil {
				err = &TimeoutError{After: opt.Timeout, Err: err}
			}
			res := Result{ResourceType: j.c.ResourceType(), Service: j.c.Service(), Region: j.region, Batch: b, Err: err, Duration: time.Since(start)}
			if err != nil {
				res.Batch = Batch{}
				opt.Log.Warn("collector failed", "resource_type", res.ResourceType, "region", res.Region, "code", ErrorCode(err), "error", err.Error())
			} else {
				opt.Log.Debug("collector done", "resource_type", res.ResourceType, "region", res.Region, "assets", len(b.Assets), "edges", len(b.Edges), "duration_ms", res.Duration.Milliseconds())
			}
			results[i] = res
		}()
	}
	wg.Wait()
	sort.SliceStable(results, func(i, j int) bool {
		if results[i].ResourceType != results[j].ResourceType {
			return results[i].ResourceType < results[j].ResourceType
		}
		return results[i].Region < results[j].Region
	})
	return results
}

// safeCollect turns a collector's panic into its scope's error.
func safeCollect(ctx context.Context, c Collector, env Env, regions []string) (b Batch, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("collector %s panicked: %v", c.ResourceType(), p)
		}
	}()
	return c.Collect(ctx, env, regions)
}

// homeRegion is where global collectors call from: us-east-1 when it is
// synced (IAM's home), else the first region.
func homeRegion(regions []string) string {
	for _, r := range regions {
		if r == "us-east-1" {
			return r
		}
	}
	if len(regions) > 0 {
		return regions[0]
	}
	return "us-east-1"
}

// TimeoutError is a collector that ran out of time.
type TimeoutError struct {
	After time.Duration
	Err   error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s: %v", e.After, e.Err)
}
func (e *TimeoutError) Unwrap() error { return e.Err }

// The codes ErrorCode gives an error that is not an AWS API error.
const (
	CodeTimeout = "Timeout" // the collector ran out of time
	CodeError   = "Error"   // any other failure
)

// ErrorCode classifies a collector's error for the sync's output: the AWS
// error code (AccessDenied, UnauthorizedOperation, AuthFailure, OptInRequired
// ...), CodeTimeout, or CodeError.
func ErrorCode(err error) string {
	var te *TimeoutError
	if errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) {
		return CodeTimeout
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		return ae.ErrorCode()
	}
	return CodeError
}

// Errors returns the failed scopes of results as the step reports them.
func Errors(results []Result) []citadel.CollectorError {
	out := []citadel.CollectorError{}
	for _, r := range results {
		if r.Err != nil {
			out = append(out, citadel.CollectorError{
				ResourceType: r.ResourceType, Service: r.Service, Region: r.Region,
				Code: ErrorCode(r.Err), Message: r.Err.Error(),
			})
		}
	}
	return out
}
