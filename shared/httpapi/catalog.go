package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// CatalogRuns lists the catalog state machine's executions (the Step
// Functions client), for GET /catalog's last load.
type CatalogRuns interface {
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, opts ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// CatalogStatus (GET /catalog) is what the deployment has loaded: the
// versions, the counts, the frameworks a scan may name, the last load of
// the catalog state machine when the deployment has one, and the problems
// in words.
type CatalogStatus struct {
	Loaded     bool                    `json:"loaded"`
	Version    *citadel.CatalogVersion `json:"version,omitempty"`
	Frameworks []FrameworkRef          `json:"frameworks"`
	LastLoad   *CatalogLoad            `json:"last_load,omitempty"`
	Problems   []string                `json:"problems"`
}

// FrameworkRef is a loaded framework, in short.
type FrameworkRef struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Requirements int    `json:"requirements"`
}

// CatalogLoad is one execution of the catalog state machine.
type CatalogLoad struct {
	ExecutionARN string    `json:"execution_arn"`
	Status       string    `json:"status"` // Step Functions' RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
	StartedAt    time.Time `json:"started_at"`
	StoppedAt    time.Time `json:"stopped_at,omitzero"`
	Error        string    `json:"error,omitempty"`
	Cause        string    `json:"cause,omitempty"`
}

// notLoaded is why a catalog-dependent request cannot be served yet.
const notLoaded = "the catalog is not loaded yet: the deployment loads it on its own (a few minutes after `cdk deploy`); " +
	"`citadel catalog status` shows the load, `citadel catalog import` starts it again"

func (s *Server) getCatalog(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := CatalogStatus{Frameworks: []FrameworkRef{}, Problems: []string{}}
	v, err := s.Catalog.GetCatalogVersion(ctx)
	switch {
	case citadel.IsNotFound(err):
		st.Problems = append(st.Problems, notLoaded)
	case err != nil:
		return fmt.Errorf("catalog version: %w", err)
	default:
		st.Loaded, st.Version = true, &v
		st.Problems = append(st.Problems, v.Problems...)
	}
	fws, err := s.Catalog.ListFrameworks(ctx)
	if err != nil {
		return fmt.Errorf("frameworks of the catalog: %w", err)
	}
	for _, f := range fws {
		st.Frameworks = append(st.Frameworks, FrameworkRef{ID: f.ID, Name: f.Name, Requirements: f.RequirementCount})
	}
	if st.LastLoad, err = s.lastCatalogLoad(ctx); err != nil {
		// The load's state is a help, not the answer: say it could not be read.
		s.Log.WarnContext(ctx, "catalog load status", "error", err.Error())
		st.Problems = append(st.Problems, "the catalog load's status could not be read: "+err.Error())
	}
	if l := st.LastLoad; l != nil && l.Status != "SUCCEEDED" && l.Status != "RUNNING" {
		st.Problems = append(st.Problems, fmt.Sprintf("the last catalog load %s: %s %s", strings.ToLower(l.Status), l.Error, l.Cause))
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// lastCatalogLoad is the catalog state machine's newest execution (nil
// when the deployment has none, or it never ran).
func (s *Server) lastCatalogLoad(ctx context.Context) (*CatalogLoad, error) {
	if s.CatalogRuns == nil || s.CatalogStateMachineARN == "" {
		return nil, nil
	}
	out, err := s.CatalogRuns.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(s.CatalogStateMachineARN), MaxResults: 1})
	if err != nil {
		return nil, fmt.Errorf("list catalog executions: %w", err)
	}
	if len(out.Executions) == 0 {
		return nil, nil
	}
	e := out.Executions[0]
	l := &CatalogLoad{ExecutionARN: aws.ToString(e.ExecutionArn), Status: string(e.Status), StartedAt: aws.ToTime(e.StartDate), StoppedAt: aws.ToTime(e.StopDate)}
	if l.Status != "SUCCEEDED" && l.Status != "RUNNING" {
		d, err := s.CatalogRuns.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
		if err != nil {
			return l, fmt.Errorf("describe catalog execution: %w", err)
		}
		l.Error, l.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
	}
	return l, nil
}

// checkScannable refuses, before anything is recorded, a scan that could
// only fail in plan: no catalog loaded, or frameworks it does not have.
func (s *Server) checkScannable(ctx context.Context, in citadel.Integration) error {
	v, err := s.Catalog.GetCatalogVersion(ctx)
	switch {
	case citadel.IsNotFound(err):
		return citadel.Conflict("integration %s cannot be scanned: %s", in.ID, notLoaded)
	case err != nil:
		return fmt.Errorf("catalog version: %w", err)
	}
	if len(in.Frameworks) == 0 {
		return nil
	}
	fws, err := s.Catalog.ListFrameworks(ctx)
	if err != nil {
		return fmt.Errorf("frameworks of the catalog: %w", err)
	}
	var missing []string
	for _, f := range in.Frameworks {
		if !slices.ContainsFunc(fws, func(x citadel.Framework) bool { return x.ID == f }) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return citadel.Conflict("integration %s cannot be scanned: frameworks %s are not in the loaded catalog (Prowler %s); "+
			"change the integration's frameworks (GET /catalog lists them)", in.ID, strings.Join(missing, ", "), v.ProwlerVersion)
	}
	return nil
}
