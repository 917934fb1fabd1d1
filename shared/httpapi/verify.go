package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/verify"
)

// Verifier assumes an integration's role and reports what its collectors
// may read (shared/verify; *verify.Verifier with the API's AWS
// configuration), and names the deployment's region.
type Verifier interface {
	Verify(ctx context.Context, in citadel.Integration, regions []string, opt verify.Options) (verify.Report, error)
	Region() string
}

// The bounds of POST /integrations/{id}/verify, under API Gateway's 30 s
// (the function's own timeout is 29 s): the whole verify, STS included, and
// how many scopes are collected at once.
const (
	DefaultVerifyTimeout = 20 * time.Second
	VerifyParallelism    = 8
)

// VerifyResult (POST /integrations/{id}/verify) is the verify's report and
// whether credentials of the integration's account were had. A role that
// cannot be assumed is not a bad request (the caller's input is fine, the
// target account is misconfigured): the answer is a 200 with assumed false,
// STS's error in words in assume_error, and no services.
type VerifyResult struct {
	verify.Report
	Assumed     bool   `json:"assumed"`
	AssumeError string `json:"assume_error,omitempty"`
}

// verifyRequest is the optional body of POST /integrations/{id}/verify.
type verifyRequest struct {
	Regions []string `json:"regions"`
}

func (s *Server) verifyIntegration(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var body verifyRequest
	if r.ContentLength > 0 {
		if err := decode(r, &body); err != nil {
			return err
		}
	}
	in, err := s.Integrations.GetIntegration(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.Verify == nil {
		return errors.New("verify integration: the API was built without a Verifier (Deps.Verify)")
	}
	regions, err := s.verifyRegions(in, body.Regions)
	if err != nil {
		return err
	}
	timeout := s.VerifyTimeout
	if timeout <= 0 {
		timeout = DefaultVerifyTimeout
	}
	start := time.Now()
	rep, err := s.Verify.Verify(ctx, in, regions, verify.Options{Timeout: timeout, Parallelism: VerifyParallelism})
	res := VerifyResult{Report: rep, Assumed: true}
	var ae *verify.AssumeError
	switch {
	case errors.As(err, &ae):
		res.Assumed, res.AssumeError = false, ae.Error()
	case err != nil:
		return fmt.Errorf("verify integration %s: %w", in.ID, err)
	}
	res.Regions, res.Services = nonNil(res.Regions), nonNil(res.Services)
	s.Log.InfoContext(ctx, "integration verified", "integration_id", in.ID, "assumed", res.Assumed, "regions", len(res.Regions),
		"scopes", res.Scopes(), "denied", res.Denied, "ms", time.Since(start).Milliseconds())
	writeJSON(w, http.StatusOK, res)
	return nil
}

// verifyRegions are the regions a verify tries: the ones asked for, each a
// region the integration scans (any known region of its partition when it
// names none), else the integration's, else the deployment's.
func (s *Server) verifyRegions(in citadel.Integration, asked []string) ([]string, error) {
	if len(asked) == 0 {
		if len(in.Regions) > 0 {
			return in.Regions, nil
		}
		return []string{s.Verify.Region()}, nil
	}
	// The partition the integration lives in: its role's, else (Citadel's
	// own account) the deployment's.
	partition := citadel.ARNPartition(in.RoleARN)
	if partition == "" {
		partition, _ = citadel.RegionPartition(s.Verify.Region())
	}
	for i, region := range asked {
		p, known := citadel.RegionPartition(region)
		switch {
		case slices.Contains(asked[:i], region):
			return nil, citadel.Invalid("regions: %s is named twice", region)
		case len(in.Regions) > 0 && !slices.Contains(in.Regions, region):
			return nil, citadel.Invalid("regions: %s is not one of integration %s's regions (%s)", region, in.ID, strings.Join(in.Regions, ", "))
		case !known:
			return nil, citadel.Invalid("regions: %q is not an AWS region name (the regions of partitions aws, aws-cn and aws-us-gov)", region)
		case partition != "" && p != partition:
			return nil, citadel.Invalid("regions: %s is in partition %s, not in integration %s's partition %s", region, p, in.ID, partition)
		}
	}
	return asked, nil
}
