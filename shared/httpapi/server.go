package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/compliance"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/scanend"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// The store methods each group of routes needs. *ddb.Store has them all.
type (
	Integrations interface {
		CreateIntegration(ctx context.Context, in citadel.Integration) error
		GetIntegration(ctx context.Context, id string) (citadel.Integration, error)
		UpdateIntegration(ctx context.Context, in citadel.Integration) error
		DeleteIntegration(ctx context.Context, id string) error
		ListIntegrations(ctx context.Context, folderID string, limit int, cursor string) (citadel.Page[citadel.Integration], error)
		integrationArchive // deleting archives (integrations.go)
		orgMembers         // an organization's members (orgintegrations.go)
	}
	Scans interface {
		StartScan(ctx context.Context, sc citadel.Scan) error
		GetScan(ctx context.Context, scanID string) (citadel.Scan, error)
		ScanSteps(ctx context.Context, scanID string) ([]citadel.StepProgress, error)
		ListScans(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Scan], error)
		MarkScanRunning(ctx context.Context, integrationID, scanID, executionARN string) (citadel.Scan, error)
		// The rest of scanend.Store: lock take-over and cancel.
		RunningScan(ctx context.Context, integrationID string) (citadel.Scan, error)
		TakeOverScan(ctx context.Context, old, next citadel.Scan) error
		FinishScan(ctx context.Context, sc citadel.Scan) (citadel.Scan, error)
	}
	Assets interface {
		ListAssets(ctx context.Context, integrationID string, limit int, cursor string) (citadel.Page[citadel.Asset], error)
		// Findings (findings.go): an asset with its results and edges, and
		// an integration's results filtered.
		GetAsset(ctx context.Context, integrationID, arn string) (citadel.Asset, error)
		RelationshipsFrom(ctx context.Context, integrationID, arn string) ([]citadel.AssetRelationship, error)
		RelationshipsTo(ctx context.Context, integrationID, arn string) ([]citadel.AssetRelationship, error)
		ResultsOfAsset(ctx context.Context, integrationID, assetID string) ([]citadel.CheckResult, error)
		ListResultsFiltered(ctx context.Context, integrationID string, f ddb.ResultFilter, limit int, cursor string) (citadel.Page[citadel.CheckResult], error)
		// A result's status changes, oldest first (history.go).
		ResultHistory(ctx context.Context, resultID string) ([]citadel.CheckResultHistory, error)
	}
	Catalog interface {
		ListFrameworks(ctx context.Context) ([]citadel.Framework, error)
		GetFramework(ctx context.Context, id string) (citadel.Framework, error)
		GetRequirement(ctx context.Context, requirementID string) (citadel.RequirementNode, error)
		// KnownChecks says which ids are checks of the catalog (an
		// integration's pinned checks), GetCatalogVersion whether one is loaded.
		KnownChecks(ctx context.Context, ids []string) (map[string]bool, error)
		GetCatalogVersion(ctx context.Context) (citadel.CatalogVersion, error)
		// Links: a check's SCF links and their corrections (links.go).
		Links
	}
	Controls interface {
		GetControl(ctx context.Context, id string) (citadel.AppliedControl, error)
		GetControls(ctx context.Context, ids []string) (map[string]citadel.AppliedControl, error)
		ListControls(ctx context.Context, folderID string, limit int, cursor string) (citadel.Page[citadel.AppliedControl], error)
		RequirementsOfControl(ctx context.Context, controlID string) ([]citadel.ControlRequirementMapping, error)
		LinksOfControl(ctx context.Context, controlID string, kind citadel.LinkKind) ([]citadel.ControlLink, error)
	}
	Evidence interface {
		GetEvidence(ctx context.Context, id string) (citadel.Evidence, error)
		EvidenceRevisions(ctx context.Context, evidenceID string) ([]citadel.EvidenceRevision, error)
		VerifyEvidence(ctx context.Context, id string) (*citadel.ChainBreak, error)
		ReviewEvidence(ctx context.Context, id string, rv citadel.EvidenceReview) (citadel.Evidence, error)
		EvidenceReviews(ctx context.Context, evidenceID string) ([]citadel.EvidenceReview, error)
		ListEvidence(ctx context.Context, folderID string, status citadel.EvidenceStatus, limit int, cursor string) (citadel.Page[citadel.Evidence], error)
	}
	// Compliance is what shared/compliance reads to build a framework's view.
	Compliance interface {
		compliance.Store
		compliance.Catalog
	}
	Assessments interface {
		PutAssessment(ctx context.Context, ra citadel.RequirementAssessment) (citadel.RequirementAssessment, error)
	}
	// Schedules keeps an integration's EventBridge Scheduler schedule in
	// step with it (shared/scheduler).
	Schedules interface {
		Sync(ctx context.Context, in citadel.Integration) error
		Delete(ctx context.Context, integrationID string) error
	}
	// Executions starts, describes and stops the scan state machine's
	// executions (the Step Functions client).
	Executions interface {
		StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
		scanend.Executions
	}
)

// Deps are what the API needs. Every field but Clock, NewID and Log is required.
type Deps struct {
	Folders         Folders // folders.go
	Integrations    Integrations
	Scans           Scans
	Assets          Assets
	Catalog         Catalog
	Controls        Controls
	Evidence        Evidence
	Assessments     Assessments
	Exceptions      Exceptions // exceptions.go
	Compliance      Compliance
	Schedules       Schedules
	Executions      Executions
	StateMachineARN string
	// OrgStateMachineARN is the organization state machine: a scan of an
	// integration of kind organization starts it (citadel.EnvOrgStateMachineARN).
	// Without it such a start is refused (409), every other route is
	// unchanged.
	OrgStateMachineARN string
	// CatalogRuns and CatalogStateMachineARN, when set, let GET /catalog
	// show the catalog state machine's last load (optional).
	CatalogRuns            CatalogRuns
	CatalogStateMachineARN string
	// Announce, when set, announces the scans the API ends (cancel, a lock
	// taken over): "Scan Failed" events on the drift bus.
	Announce *scanend.Announcer
	// Verify serves POST /integrations/{id}/verify (verify.go): a
	// *verify.Verifier with the API's AWS configuration. Without it that
	// route answers 500 (logged), every other route is unchanged.
	Verify Verifier
	// VerifyTimeout bounds one verify (0: DefaultVerifyTimeout).
	VerifyTimeout time.Duration
	// Exports, ExportStateMachineARN, Presign and Bucket serve the export
	// routes (exports.go): without the store or the state machine they
	// answer 409; without Presign a succeeded export has no download URL.
	Exports               Exports
	ExportStateMachineARN string
	Presign               Presigner
	Bucket                string
	// DefaultFolder is used when a request names no folder_id (citadel.EnvFolderID).
	DefaultFolder string
	// MinScheduleInterval is the shortest time allowed between two
	// scheduled scans of an integration (0: citadel.DefaultMinScheduleInterval).
	MinScheduleInterval time.Duration
	// MaxExceptionDays is how far ahead an exception may expire at most
	// (citadel.EnvMaxExceptionDays; 0: citadel.DefaultMaxExceptionDays).
	MaxExceptionDays int
	Clock            citadel.Clock
	// NewID makes ids (citadel.NewID by default).
	NewID func(prefix string, now time.Time) string
	Log   *slog.Logger
}

// Server is the API. Its zero value is not usable: build it with New.
type Server struct {
	Deps
	mux *http.ServeMux
}

// handlerFunc is a route's handler: it writes a response or returns an error
// that the server maps to a status.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// New builds the API from its dependencies and the embedded OpenAPI
// document. It fails if a route has no operation in the document or an
// operation has no route.
func New(ctx context.Context, d Deps) (*Server, error) {
	missing := []string{}
	for name, v := range map[string]any{
		"Folders": d.Folders, "Integrations": d.Integrations, "Scans": d.Scans, "Assets": d.Assets, "Catalog": d.Catalog,
		"Controls": d.Controls, "Evidence": d.Evidence, "Assessments": d.Assessments, "Compliance": d.Compliance,
		"Schedules": d.Schedules, "Executions": d.Executions, "Exceptions": d.Exceptions,
	} {
		if v == nil {
			missing = append(missing, name)
		}
	}
	if d.StateMachineARN == "" {
		missing = append(missing, "StateMachineARN")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("httpapi: missing dependencies: %s", strings.Join(missing, ", "))
	}
	if d.DefaultFolder != "" && !citadel.ValidID(d.DefaultFolder) {
		return nil, fmt.Errorf("httpapi: default folder %q is not a folder id (%s)", d.DefaultFolder, citadel.PatternID)
	}
	if d.Clock == nil {
		d.Clock = citadel.SystemClock
	}
	if d.NewID == nil {
		d.NewID = citadel.NewID
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	doc, err := LoadSpec(ctx)
	if err != nil {
		return nil, err
	}
	s := &Server{Deps: d, mux: http.NewServeMux()}
	routes := s.routes()
	registered := map[string]bool{}
	for pattern, h := range routes {
		method, path, _ := strings.Cut(pattern, " ")
		route, err := Operation(doc, method, path)
		if err != nil {
			return nil, fmt.Errorf("httpapi: route %s: %w", pattern, err)
		}
		perm, err := operationPermission(route.Operation)
		if err != nil {
			return nil, fmt.Errorf("httpapi: route %s: %w", pattern, err)
		}
		s.mux.Handle(pattern, s.validated(route, perm, h))
		registered[pattern] = true
	}
	for _, op := range Operations(doc) {
		if !registered[op] {
			return nil, fmt.Errorf("httpapi: openapi.yaml operation %s has no route", op)
		}
	}
	return s, nil
}

func (s *Server) routes() map[string]handlerFunc {
	return map[string]handlerFunc{
		"GET /me":                            s.getMe,
		"POST /folders":                      s.createFolder,
		"GET /folders":                       s.listFolders,
		"GET /folders/{id}":                  s.getFolder,
		"PATCH /folders/{id}":                s.renameFolder,
		"POST /integrations":                 s.createIntegration,
		"GET /integrations":                  s.listIntegrations,
		"GET /integrations/{id}":             s.getIntegration,
		"PATCH /integrations/{id}":           s.updateIntegration,
		"DELETE /integrations/{id}":          s.deleteIntegration,
		"POST /integrations/{id}/scans":      s.startScan,
		"POST /integrations/{id}/verify":     s.verifyIntegration,
		"GET /integrations/{id}/scans":       s.listScans,
		"GET /integrations/{id}/members":     s.listMembers,
		"GET /scans/{id}":                    s.getScan,
		"POST /scans/{id}/cancel":            s.cancelScan,
		"GET /assets":                        s.listAssets,
		"GET /assets/{id}":                   s.getAsset,
		"GET /results":                       s.listResults,
		"GET /results/history":               s.resultHistory,
		"GET /evidence":                      s.listEvidence,
		"GET /controls":                      s.listControls,
		"GET /controls/{id}":                 s.getControl,
		"GET /evidence/{id}":                 s.getEvidence,
		"POST /evidence/{id}/review":         s.reviewEvidence,
		"GET /catalog":                       s.getCatalog,
		"GET /frameworks":                    s.listFrameworks,
		"GET /frameworks/{id}/coverage":      s.frameworkCoverage,
		"POST /exports":                      s.createExport,
		"GET /exports":                       s.listExports,
		"GET /exports/{id}":                  s.getExport,
		"PUT /requirement-assessments/{id}":  s.putAssessment,
		"GET /checks/{id}":                   s.getCheck,
		"GET /checks/{id}/links":             s.getCheckLinks,
		"PUT /checks/{id}/links/{scf_id}":    s.addCheckLink,
		"DELETE /checks/{id}/links/{scf_id}": s.removeCheckLink,
		"POST /exceptions":                   s.createException,
		"GET /exceptions":                    s.listExceptions,
		"GET /exceptions/{id}":               s.getException,
		"POST /exceptions/{id}/approve":      s.decideException(citadel.ExceptionApprove),
		"POST /exceptions/{id}/reject":       s.decideException(citadel.ExceptionReject),
		"POST /exceptions/{id}/revoke":       s.decideException(citadel.ExceptionRevoke),
	}
}

// ServeHTTP routes a request, answering unknown routes (404) and wrong
// methods (405) with the API's JSON error body, and logs it with its caller.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	caller, requestID := Caller(r.Context())
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h, pattern := s.mux.Handler(r)
	if reason := uncleanPath(r.URL.Path); reason != "" {
		// The mux would answer a redirect to the cleaned path, in HTML.
		pattern = ""
		writeJSONError(rec, http.StatusBadRequest, string(citadel.CodeInvalid), "path "+reason)
	} else if pattern == "" {
		// The mux's own 404 or 405 (with its Allow header), as JSON.
		probe := &probeWriter{header: http.Header{}, code: http.StatusOK}
		h.ServeHTTP(probe, r)
		if allow := probe.Header().Get("Allow"); allow != "" {
			rec.Header().Set("Allow", allow)
		}
		if probe.code == http.StatusMethodNotAllowed {
			writeJSONError(rec, http.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, probe.Header().Get("Allow")))
		} else {
			writeJSONError(rec, http.StatusNotFound, string(citadel.CodeNotFound), fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
		}
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	level := slog.LevelInfo
	if rec.status >= 500 {
		level = slog.LevelError
	}
	s.Log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "route", pattern,
		"status", rec.status, "caller", caller, "request_id", requestID, "ms", time.Since(start).Milliseconds())
}

// uncleanPath says why a request path is not one the routes can match as
// sent ("" when it is clean): an empty segment (//), a . or .. segment. The
// mux would redirect these to their cleaned form.
func uncleanPath(p string) string {
	if p == "" || p[0] != '/' {
		return "must start with /"
	}
	for _, seg := range strings.Split(p[1:], "/") {
		switch seg {
		case "":
			if strings.Contains(p, "//") {
				return "has an empty segment (//)"
			}
		case ".", "..":
			return "has a " + seg + " segment"
		}
	}
	return ""
}

// probeWriter keeps the status and headers of the mux's own 404 or 405
// answer and drops its plain-text body.
type probeWriter struct {
	header http.Header
	code   int
}

func (p *probeWriter) Header() http.Header         { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeWriter) WriteHeader(code int)        { p.code = code }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// validated wraps a route's handler: the caller's role checked against the
// operation's permission, the body bounded and read, the request validated
// against its operation, then the handler runs and its error, if any,
// becomes the JSON error response.
func (s *Server) validated(route *routers.Route, perm citadel.Permission, h handlerFunc) http.Handler {
	opts := validationOptions()
	hasBody := route.Operation.RequestBody != nil
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorize(w, r, perm) {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeJSONError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes))
			return
		case err != nil:
			writeJSONError(w, http.StatusBadRequest, string(citadel.CodeInvalid), "request body could not be read: "+err.Error())
			return
		}
		if hasBody && len(body) > 0 {
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				writeJSONError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
					fmt.Sprintf("Content-Type must be application/json, not %q", r.Header.Get("Content-Type")))
				return
			}
		}
		r.ContentLength = int64(len(body))
		r.Body = io.NopCloser(bytes.NewReader(body))
		params := map[string]string{}
		for _, p := range append(route.PathItem.Parameters, route.Operation.Parameters...) {
			if p.Value != nil && p.Value.In == "path" {
				params[p.Value.Name] = r.PathValue(p.Value.Name)
			}
		}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			writeJSONError(w, http.StatusBadRequest, string(citadel.CodeInvalid), validationMessage(err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}
