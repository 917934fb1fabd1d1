package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/citadelsecure/citadel/cmd/citadel/internal/demoestate"
	"github.com/citadelsecure/citadel/shared/awsx"
	"github.com/citadelsecure/citadel/shared/blobstore"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/steps/prowler"
)

// The demo's folder and integration, and the seed of the local server's
// random ids (the same seed, the same resource ids: citadel serve --demo
// seeds the estate again with it).
const (
	demoFolderID      = "fld-demo"
	demoIntegrationID = "int-demo"
	demoSeed          = 42
)

// demoFrameworks are the demo integration's frameworks: the plan step runs
// their mapped checks, narrowed to demoestate.DemoChecks (--all-checks
// runs every mapped check: many minutes against the local server).
var demoFrameworks = []string{"soc2", "iso27001_2022", "cis_controls_8.1"}

// demoOptions are citadel demo's flags.
type demoOptions struct {
	stateDir   string
	outDir     string
	seed       int
	fresh      bool
	frameworks string
	allChecks  bool
	quiet      bool
	noOrg      bool // no organization scan after the account's
}

func cmdDemo(ctx context.Context, args []string) error {
	var o demoOptions
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&o.stateDir, "state", filepath.Join("out", "demo-state"), "folder that keeps Citadel's table between runs")
	fs.StringVar(&o.outDir, "out", "out", "folder for report.html")
	fs.IntVar(&o.seed, "seed", demoSeed, "seed of the local server's random ids (the same seed gives the same resource ids)")
	fs.BoolVar(&o.fresh, "fresh", false, "ignore the saved state: a first scan")
	fs.StringVar(&o.frameworks, "frameworks", strings.Join(demoFrameworks, ","), "the integration's frameworks (comma-separated), which select the checks")
	fs.BoolVar(&o.allChecks, "all-checks", false, "every mapped check of the frameworks instead of the demo's check set")
	fs.BoolVar(&o.quiet, "quiet", true, "only errors from the steps' logs on stderr")
	fs.BoolVar(&o.noOrg, "no-org", false, "skip the organization scan (the demo account's organization and its member account)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		return citadel.Invalid("demo: AWS_ENDPOINT_URL is not set; the demo only runs against the local AWS server (make demo starts it)")
	}
	return runDemo(ctx, os.Stdout, endpoint, o)
}

// runDemo is the whole demo against the local server at endpoint.
func runDemo(ctx context.Context, w io.Writer, endpoint string, o demoOptions) error {
	start := time.Now()
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return err
	}
	// 1. The estate first, before anything else draws on the server's
	// random generator, so its ids are the same on every run.
	if err := seedServer(ctx, endpoint, o.seed); err != nil {
		return err
	}
	t := time.Now()
	estate, org, err := seedDemo(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "estate: %d resources seeded in account %s, regions %s (%d requests, %s); account %s of its organization %s: %d resources\n",
		len(estate.Resources), estate.AccountID, strings.Join(demoestate.Regions, " "), estate.Requests, time.Since(t).Round(time.Millisecond),
		org.Member, org.ID, len(org.Estate.Resources))

	if !o.fresh {
		if diff, err := compareEstate(o.stateDir, estate); err != nil {
			return err
		} else if diff != "" {
			fmt.Fprintf(w, "estate: WARNING the resource ids differ from the saved run's, so the rescan will see new assets:\n%s", diff)
		} else if _, err := os.Stat(filepath.Join(o.stateDir, estateFile)); err == nil {
			fmt.Fprintf(w, "estate: every resource id (VPCs, instances, volumes, KMS keys ...) is the saved run's\n")
		}
	}

	// 2. Citadel's own table, bucket and event bus, and what earlier runs kept.
	table, bucket := tableName(), bucketName()
	db := dynamodb.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, awsx.S3Options)
	if err := ensureResources(ctx, cfg, db, s3c, table, bucket, eventBusName()); err != nil {
		return err
	}
	// The state's own store: its requests are not the scan's.
	state := ddb.New(cfg, table, ddb.WithBlobs(&blobstore.S3{Client: s3c, Bucket: bucket}))
	rescan := false
	if !o.fresh {
		t = time.Now()
		n, err := state.Import(ctx, o.stateDir)
		if err != nil {
			return err
		}
		if n.Items > 0 {
			rescan = true
			fmt.Fprintf(w, "state: restored %d items and %d blobs from %s (%s)\n", n.Items, n.Blobs, o.stateDir, time.Since(t).Round(time.Millisecond))
		}
	}
	store := ddb.New(cfg, table)

	// 3. The catalog: Prowler from the venv, SCF when its files are there.
	if err := demoCatalog(ctx, w, store, cfg); err != nil {
		return err
	}

	// 4. The folder and the integration of the demo account.
	checks := demoestate.DemoChecks
	if o.allChecks {
		checks = nil
	}
	integ, err := ensureIntegration(ctx, store, splitList(o.frameworks), checks)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "integration: %s → account %s via %s, frameworks %s, %s\n", integ.ID, integ.AccountID, integ.RoleARN, strings.Join(integ.Frameworks, ", "),
		ifs(len(integ.Checks) > 0, fmt.Sprintf("the demo's %d checks", len(integ.Checks)), "every mapped check"))

	// 5. The scan, with real Prowler.
	r, err := newRunner(ctx, cfg, o.quiet)
	if err != nil {
		return err
	}
	if r.prowlerLog, err = openProwlerLog(o.outDir); err != nil {
		return err
	}
	defer r.prowlerLog.Close()
	fmt.Fprintln(w)
	res, err := r.scan(ctx, w, integ.ID)
	if err != nil {
		return err
	}
	ferr := r.finish(ctx, w, res, o.outDir)
	if !o.noOrg {
		if _, err := r.demoOrgScan(ctx, w, store, org, integ); err != nil && ferr == nil {
			ferr = err
		}
	}

	// 6. Keep Citadel's data for the next run.
	t = time.Now()
	saved, err := state.Export(ctx, o.stateDir)
	if err != nil {
		return err
	}
	if b, err := json.MarshalIndent(estate.Resources, "", "  "); err == nil {
		if err := os.WriteFile(filepath.Join(o.stateDir, estateFile), b, 0o644); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	fmt.Fprintf(w, "state: saved %d items and %d blobs to %s (%s)\n", saved.Items, saved.Blobs, o.stateDir, time.Since(t).Round(time.Millisecond))
	rr := resultsOf(res)
	if rescan {
		fmt.Fprintf(w, "\nRESCAN: results %d unchanged, %d updated, %d created; %d history entries; %.1f write units in %d requests over all steps\n",
			rr.ResultsUnchanged, rr.ResultsUpdated, rr.ResultsCreated, rr.HistoryEntriesCreated, res.Report.Total.WriteUnits, res.Report.Total.Requests)
		if rr.HistoryEntriesCreated == 0 && rr.ResultsUpdated > 0 {
			fmt.Fprintf(w, "        no status changed; the %d updated results (and their evidence) carry details that the local server\n"+
				"        changed when it recreated the estate (make demo pins its clock and port; a rescan of the same account\n"+
				"        writes only the scan's own items)\n", rr.ResultsUpdated)
		}
	} else {
		fmt.Fprintf(w, "\nfirst scan: %d results created, %.1f write units in %d requests; run `make demo` again for a rescan\n",
			rr.ResultsCreated, res.Report.Total.WriteUnits, res.Report.Total.Requests)
	}
	fmt.Fprintf(w, "demo finished in %s\n", time.Since(start).Round(time.Second))
	return ferr
}

// estateFile keeps the estate's resource ids of the saved run.
const estateFile = "estate.json"

// compareEstate lists the resources whose ARN differs from the saved run's
// ("" when they are the same or nothing was saved).
func compareEstate(dir string, e demoestate.Estate) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, estateFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	var saved map[string]string
	if err := json.Unmarshal(b, &saved); err != nil {
		return "", fmt.Errorf("demo: %s: %w", estateFile, err)
	}
	var diff strings.Builder
	for name, arn := range e.Resources {
		if saved[name] != arn {
			fmt.Fprintf(&diff, "  %s: %s, saved %s\n", name, arn, saved[name])
		}
	}
	return diff.String(), nil
}

// resultsOf is the check-results step's output in the pipeline's state.
func resultsOf(res scanResult) citadel.CheckResultsOutput {
	var out citadel.CheckResultsOutput
	if b, ok := res.Run.State[citadel.StateKeys[citadel.StepCheckResults]]; ok {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// seedServer makes the local server's random ids deterministic.
func seedServer(ctx context.Context, endpoint string, seed int) error {
	url := strings.TrimRight(endpoint, "/") + fmt.Sprintf("/moto-api/seed?a=%d", seed)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("demo: seed the local server's random ids: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("demo: seed the local server's random ids: %s answered %s", url, resp.Status)
	}
	return nil
}

// ensureResources creates the table, the bucket and the event bus (each
// left as it is when it exists).
func ensureResources(ctx context.Context, cfg aws.Config, db *dynamodb.Client, s3c *s3.Client, table, bucket, bus string) error {
	if err := ddb.CreateTable(ctx, db, table); err != nil {
		return err
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil && !isCode(err, "BucketAlreadyOwnedByYou", "BucketAlreadyExists") {
		return fmt.Errorf("demo: bucket %s: %w", bucket, err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil && !isCode(err, "ResourceAlreadyExistsException") {
		return fmt.Errorf("demo: event bus %s: %w", bus, err)
	}
	return nil
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

// scfDir is where the SCF files are: $CITADEL_SCF_DIR, else the shared
// reference data's scf/ ("" when neither holds an SCF library).
func scfDir() string {
	var dirs []string
	if d := os.Getenv("CITADEL_SCF_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("CITADEL_SHARED_DATA"); d != "" {
		dirs = append(dirs, filepath.Join(d, "scf"))
	}
	dirs = append(dirs, filepath.Join("..", "shared", "data", "scf"))
	for _, d := range dirs {
		if m, _ := filepath.Glob(filepath.Join(d, "scf-*.yaml")); len(m) > 0 {
			return d
		}
	}
	return ""
}

// scfVersion is the version in the library's file name (scf-<version>.yaml).
func scfVersion(dir string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "scf-*.yaml"))
	if len(m) == 0 {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m[len(m)-1]), "scf-"), ".yaml")
}

// demoCatalog imports the catalog unless the table already holds this
// Prowler's and this SCF's (a restored run).
func demoCatalog(ctx context.Context, w io.Writer, store *ddb.Store, cfg aws.Config) error {
	scf := scfDir()
	bin := filepath.Join(".venv", "bin", "prowler")
	p, err := prowler.Locate(ctx, bin)
	if err != nil {
		return fmt.Errorf("demo: %w (make venv installs Prowler)", err)
	}
	if v, err := store.GetCatalogVersion(ctx); err == nil && v.ProwlerVersion == p.Version && v.SCFVersion == scfVersion(scf) {
		fmt.Fprintf(w, "catalog: Prowler %s%s already imported (restored)\n", v.ProwlerVersion, ifs(v.SCFVersion != "", ", SCF "+v.SCFVersion, ""))
		return nil
	}
	if scf == "" {
		fmt.Fprintln(w, "catalog: no SCF files found ($CITADEL_SCF_DIR or ../shared/data/scf): importing Prowler alone; controls come from the requirement-based fallback and no policy is created")
	}
	t := time.Now()
	h := &catalogimport.Handler{Store: store, S3: s3.NewFromConfig(cfg, awsx.S3Options), Env: stepfn.Env{Log: errorLogger()}}
	out, err := h.Handle(ctx, citadel.CatalogImportInput{SCFSource: scf})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "catalog: Prowler %s (%d checks, %d frameworks, %d requirements)%s imported in %s\n", out.ProwlerVersion, out.Checks, out.Frameworks, out.Requirements,
		ifs(out.SCFImported, fmt.Sprintf(", SCF %s (%d controls, %d mappings, %d links, %d policy templates)", out.SCFVersion, out.SCFControls, out.SCFMappings, out.Links, out.Templates), ""),
		time.Since(t).Round(time.Second))
	return nil
}

func ifs(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ensureIntegration creates the demo's folder and integration, or brings
// the integration's frameworks up to date.
func ensureIntegration(ctx context.Context, store *ddb.Store, frameworks, checks []string) (citadel.Integration, error) {
	now := citadel.SystemClock()
	if err := store.CreateFolder(ctx, citadel.Folder{ID: demoFolderID, Name: "Demo", CreatedAt: now}); err != nil && !citadel.IsConflict(err) {
		return citadel.Integration{}, err
	}
	integ, err := store.GetIntegration(ctx, demoIntegrationID)
	if citadel.IsNotFound(err) {
		integ = citadel.Integration{ID: demoIntegrationID, FolderID: demoFolderID, Name: "Demo estate (local AWS)",
			AccountID: demoestate.AccountID, RoleARN: demoestate.RoleARN(demoestate.AccountID), ExternalID: demoestate.ExternalID,
			Regions: demoestate.Regions, Frameworks: frameworks, Checks: checks, CreatedAt: now, UpdatedAt: now}
		return integ, store.CreateIntegration(ctx, integ)
	}
	if err != nil {
		return integ, err
	}
	if strings.Join(integ.Frameworks, ",") != strings.Join(frameworks, ",") || strings.Join(integ.Checks, ",") != strings.Join(checks, ",") {
		integ.Frameworks, integ.Checks, integ.UpdatedAt = frameworks, checks, now
		return integ, store.UpdateIntegration(ctx, integ)
	}
	return integ, nil
}
