package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/chromedp/chromedp"

	"github.com/citadelsecure/citadel/cmd/citadel/internal/demoestate"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/report"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/catalogtest"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

const chromiumPath = "/usr/bin/chromium"

// consoleBuildDir is the console's build, once the browser test has all it
// needs: the build (make console), chromium and axe-core (make browser).
func consoleBuildDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), consoleBuild)
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		missingForBrowser(t, "the console is not built (%v): run `make console`", err)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missingForBrowser(t, "chromium is not installed at %s: run `make browser`", chromiumPath)
	}
	if _, err := axeSource(); err != nil {
		missingForBrowser(t, "axe-core is not installed (%v): run `make browser`", err)
	}
	return dir
}

// serveConsole is citadel serve as a test: the API's handler over a fresh
// account on the local AWS server (the reduced catalog loaded), with the
// console beside it, on 127.0.0.1.
type consoleEnv struct {
	base  string // the server's URL
	store *ddb.Store
	cfg   aws.Config
}

// serveConsoleWith is serveConsole with the folder fld-console holding one
// account integration: id, name and account as given, in region.
func serveConsoleWith(t *testing.T, id, name, account, region string) (*consoleEnv, citadel.Integration) {
	t.Helper()
	env := serveConsole(t, consoleBuildDir(t))
	ctx, now := context.Background(), time.Now()
	if err := env.store.CreateFolder(ctx, citadel.Folder{ID: "fld-console", Name: "console", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	in := citadel.Integration{ID: id, FolderID: "fld-console", Name: name, AccountID: account,
		RoleARN: "arn:aws:iam::" + account + ":role/" + DefaultScannerRole, ExternalID: "citadel-" + strings.Repeat(account[:8], 4),
		Regions: []string{region}, Frameworks: []string{"soc2"}, CreatedAt: now, UpdatedAt: now}
	if err := env.store.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	return env, in
}

func serveConsole(t *testing.T, dir string) *consoleEnv {
	t.Helper()
	p := installedProwler(t)
	ctx := context.Background()
	cfg := testenv.Config(t)
	db, table := testenv.Table(t, cfg)
	_, bucket := testenv.Bucket(t, cfg)
	bus := testenv.Name(t, "citadel-bus")
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	store := ddb.NewFromClient(db, table)
	prowlerDir, scfDir := catalogtest.Reduced(t, testenv.SharedData(t), demoestate.Checks)
	imp := &catalogimport.Handler{Store: store, Env: stepfn.Env{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	if _, err := imp.Handle(ctx, citadel.CatalogImportInput{ProwlerSource: prowlerDir, ProwlerVersion: p.Version, SCFSource: scfDir}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r := &runner{cfg: cfg, table: table, bucket: bucket, eventBus: bus, prowler: p, log: log, prowlerDeadline: 10 * time.Minute}
	api, execs, err := localAPI(ctx, cfg, r, "fld-console")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(execs.Wait)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	srv := &http.Server{Handler: consoleFlagFor(t, dir)(newDevAuth(api), ln.Addr(), &out), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	t.Log(strings.TrimSpace(out.String()))
	return &consoleEnv{base: "http://" + ln.Addr().String(), store: store, cfg: cfg}
}

// consoleFlagFor is serve's --console flag given dir.
func consoleFlagFor(t *testing.T, dir string) func(http.Handler, net.Addr, io.Writer) http.Handler {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	mount := consoleFlag(fs)
	if err := fs.Parse([]string{"--console", dir}); err != nil {
		t.Fatal(err)
	}
	return mount
}

// browser is a headless Debian chromium driven over the DevTools protocol,
// for at most limit (a scan watched to its end takes minutes on a loaded
// machine; a page, seconds).
func browser(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// browserSignIn signs in through the console's development sign-in page (the
// Cognito hosted sign-in's stand-in) as user with role, and waits for the
// header to name them.
func browserSignIn(t *testing.T, ctx context.Context, base, user string, role citadel.Role) {
	t.Helper()
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+ConsolePrefix+"signin"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), user),
		chromedp.SetValue(chromedp.CSS(`select[name=role]`), string(role)),
		chromedp.Click(chromedp.CSS(`main button[type=submit]`)),
		chromedp.WaitVisible(chromedp.Search(`//header//span[contains(., "Signed in as") and contains(., "`+user+`")]`)),
	))
}

// browserSignOut signs out from the header.
func browserSignOut(t *testing.T, ctx context.Context) {
	t.Helper()
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//header//button[.="Sign out"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)),
	))
}

// TestConsoleAddsAnIntegration opens the console's Integrations page in a
// real browser, adds an AWS account through the form (frameworks from the
// catalog, the ExternalId made in the browser) and checks the integration is
// stored, listed, and given the command that deploys its scanner role.
func TestConsoleAddsAnIntegration(t *testing.T) {
	dir := consoleBuildDir(t)
	env := serveConsole(t, dir)
	base, store := env.base, env.store
	ctx := browser(t, 2*time.Minute)

	// Signed out, a page sends the browser to the sign-in, which comes back to it.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+ConsolePrefix+"integrations"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)),
	))
	if u := browse(t, ctx, chromedp.Evaluate[string](`location.pathname + location.search`)); u != ConsolePrefix+"signin?return=%2Fconsole%2Fintegrations" && u != ConsolePrefix+"signin?return=/console/integrations" {
		t.Errorf("signed out, the Integrations page went to %s", u)
	}
	checkAccessible(t, ctx, "the sign-in page")
	saveScreenshot(t, "signin.png", browse(t, ctx, chromedp.CaptureScreenshot()))
	browserSignIn(t, ctx, base, "ana", citadel.RoleAdmin)

	const account, trusted, name = "210987654321", "123456789012", "Payments production"
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+ConsolePrefix+"integrations"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=frameworks]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=account_id]`), account),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=trusted_account_id]`), trusted),
		chromedp.SendKeys(chromedp.CSS(`input[name=regions]`), "us-east-1"),
		chromedp.Click(chromedp.CSS(`input[name=frameworks]`)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=cdk-command]`)),
		chromedp.WaitVisible(chromedp.Search(`//td[contains(., "`+name+`")]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[.="Add integration"]`)),
	)
	if err != nil {
		t.Fatalf("the browser: %v", err)
	}
	checkAccessible(t, ctx, "the Integrations page")
	command := browse(t, ctx, chromedp.Text(chromedp.CSS(`[data-testid=cdk-command]`)))
	rows := browse(t, ctx, chromedp.Text(chromedp.CSS(`table tbody`)))
	shot := browse(t, ctx, chromedp.FullScreenshot(100))
	// What the first page cost: the app's files the browser fetched (docs/console.md).
	loaded := browse(t, ctx, chromedp.Evaluate[[]map[string]any](`performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
		.filter(e => e.name.includes('/console/')).map(e => ({name: e.name.replace(location.origin, ''), bytes: e.encodedBodySize}))`))
	total, names := 0.0, []string{}
	for _, e := range loaded {
		total += e["bytes"].(float64)
		names = append(names, fmt.Sprint(e["name"]))
	}
	t.Logf("first load of the Integrations page: %d files of the console, %.0f bytes uncompressed: %s", len(loaded), total, strings.Join(names, " "))
	t.Logf("the command shown: %s", command)
	m := regexp.MustCompile(`^cdk deploy CitadelTargetRole --parameters TrustedAccountId=` + trusted + ` --parameters ExternalId=(citadel-[0-9a-f]{32})$`).FindStringSubmatch(strings.TrimSpace(command))
	if m == nil {
		t.Fatalf("the deploy command %q is not the CLI's", command)
	}
	if !strings.Contains(rows, account) || !strings.Contains(rows, "never scanned") {
		t.Errorf("the list does not show the new integration:\n%s", rows)
	}
	page, err := store.ListIntegrations(context.Background(), "fld-console", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	all := page.Items
	if len(all) != 1 || all[0].AccountID != account || all[0].Name != name || all[0].ExternalID != m[1] ||
		all[0].RoleARN != "arn:aws:iam::"+account+":role/"+DefaultScannerRole || len(all[0].Frameworks) != 1 {
		t.Errorf("stored: %+v", all)
	}
	saveScreenshot(t, "integrations.png", shot)
}

// browse runs one browser action that answers a value.
func browse[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("the browser: %v", err)
	}
	return v
}

// saveScreenshot keeps a page's picture in docs/console/.
func saveScreenshot(t *testing.T, name string, b []byte) {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: docs/console/%s", name)
}

// TestConsoleScansToEvidence walks the console over a real scan: the demo
// estate seeded in an account of its own and integrated, "Scan now" on the
// Integrations page, the scan's steps watched live to its end, coverage,
// the failing findings down to an asset, an evidence record approved with
// a comment and its chain shown verified; then a second scan cancelled from
// its page.
func TestConsoleScansToEvidence(t *testing.T) {
	dir := consoleBuildDir(t)
	env := serveConsole(t, dir)
	bg := context.Background()
	acct, accountID, _ := testenv.Account(t, env.cfg)
	if _, err := demoestate.Seed(bg, acct, accountID); err != nil {
		t.Fatal(err)
	}
	in := citadel.Integration{ID: "int-estate", FolderID: "fld-console", Name: "Demo estate", AccountID: accountID,
		RoleARN: demoestate.RoleARN(accountID), ExternalID: demoestate.ExternalID, Regions: demoestate.Regions,
		Frameworks: report.DefaultFrameworks, Checks: demoestate.Checks, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := env.store.CreateFolder(bg, citadel.Folder{ID: "fld-console", Name: "console", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := env.store.CreateIntegration(bg, in); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t, 9*time.Minute)
	browserSignIn(t, ctx, env.base, "oscar", citadel.RoleOperator)

	// Scan now, then follow the latest scan's link to its page.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"integrations"),
		chromedp.Click(chromedp.CSS(`button[aria-label="Scan now: Demo estate"]`)),
		chromedp.Click(chromedp.CSS(`td a[href*="/scans/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=scan-status]`)),
	))
	ended := browse(t, ctx, chromedp.Poll[string](`(() => {
		const s = document.querySelector('[data-testid=scan-status] .status')?.textContent;
		return s && s !== 'queued' && s !== 'running' ? s : null;
	})()`, chromedp.WithPollingTimeout(8*time.Minute), chromedp.WithPollingInterval(time.Second)))
	if ended != "succeeded" {
		t.Fatalf("the scan ended %s:\n%s", ended, browse(t, ctx, chromedp.Text(chromedp.CSS(`main`))))
	}
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//h2[.="Summary"]`))))
	scanPage := browse(t, ctx, chromedp.Text(chromedp.CSS(`main`)))
	for _, want := range []string{"plan", "prowler", "finalize", "checks failed"} {
		if !strings.Contains(scanPage, want) {
			t.Errorf("the scan's page has no %q:\n%s", want, scanPage)
		}
	}
	checkAccessible(t, ctx, "a scan's page")
	saveScreenshot(t, "scan.png", browse(t, ctx, chromedp.FullScreenshot(100)))

	// Coverage of the frameworks.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"compliance"),
		chromedp.WaitVisible(chromedp.CSS(`meter`)),
	))
	browse(t, ctx, chromedp.Poll[bool](`document.querySelectorAll('section meter').length === 2 * document.querySelectorAll('section h2').length || null`,
		chromedp.WithPollingTimeout(time.Minute)))
	checkAccessible(t, ctx, "the Compliance page")
	saveScreenshot(t, "compliance.png", browse(t, ctx, chromedp.FullScreenshot(100)))
	// The same for one account: the picker narrows every framework's bars.
	browse(t, ctx, chromedp.Evaluate[bool](`(() => {
		const s = document.querySelector('select[name=integration]');
		s.value = 'int-estate';
		s.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`))
	browse(t, ctx, chromedp.Poll[bool](`location.search.includes('integration=int-estate') &&
		document.querySelectorAll('section meter').length === 2 * document.querySelectorAll('section h2').length || null`,
		chromedp.WithPollingTimeout(time.Minute)))
	if href := browse(t, ctx, chromedp.Evaluate[string](`document.querySelector('section h2 a').getAttribute('href')`)); !strings.Contains(href, "integration=int-estate") {
		t.Errorf("a framework's link does not keep the account: %s", href)
	}
	checkAccessible(t, ctx, "the Compliance page of one account")
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//h2/a[contains(., "SOC2")]`)),
		chromedp.WaitVisible(chromedp.Search(`//caption[starts-with(., "Requirements")]`)),
	))
	if fw := browse(t, ctx, chromedp.Text(chromedp.CSS(`main`))); !strings.Contains(fw, "issues") || !strings.Contains(fw, "checks:") {
		t.Errorf("the framework's page:\n%s", fw)
	}
	checkAccessible(t, ctx, "a framework's page")
	saveScreenshot(t, "framework.png", browse(t, ctx, chromedp.CaptureScreenshot())) // the first screen: the page is long

	// A failing control, down to a failing asset with Prowler's message and
	// the check's remediation from the catalog.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`(//tbody//div[span[contains(@class,"status") and .="issues"]]/a[contains(@href,"/controls/")])[1]`)),
		chromedp.WaitVisible(chromedp.Search(`//h2[.="Checks and their failing assets"]`)),
		chromedp.WaitVisible(chromedp.Search(`//dt[.="Remediation"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.card td a[href*="/assets/"]`)),
	))
	control := browse(t, ctx, chromedp.Text(chromedp.CSS(`main`)))
	if !strings.Contains(control, "issues") || !strings.Contains(control, "Requirements it maps") || !strings.Contains(control, "Prowler's message") {
		t.Errorf("the control's page:\n%s", control)
	}
	msg := browse(t, ctx, chromedp.Text(chromedp.CSS(`section.card tbody tr td:last-child`)))
	if strings.TrimSpace(msg) == "" {
		t.Errorf("a failing asset of the control has no Prowler message:\n%s", control)
	}
	checkAccessible(t, ctx, "a control's page")
	saveScreenshot(t, "control.png", browse(t, ctx, chromedp.CaptureScreenshot()))

	// The failing findings, one of them down to its asset.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"findings?integration=int-estate&status=fail"),
		chromedp.WaitVisible(chromedp.CSS(`td a[href*="/assets/"]`)),
	))
	checkAccessible(t, ctx, "the Findings page")
	saveScreenshot(t, "findings.png", browse(t, ctx, chromedp.CaptureScreenshot())) // the first screen: the page is long
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`td a[href*="/assets/"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h2[.="Results of the latest scan"]`)),
	))
	if asset := browse(t, ctx, chromedp.Text(chromedp.CSS(`main`))); !strings.Contains(asset, "fail") || !strings.Contains(asset, accountID) {
		t.Errorf("the asset's page:\n%s", asset)
	}
	// A failing result's history: its first change, from no result to fail.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`(//tr[td//span[contains(@class,"status") and .="fail"]]//details/summary)[1]`)),
		chromedp.WaitVisible(chromedp.CSS(`details[open] ol.history li`)),
	))
	if h := browse(t, ctx, chromedp.Text(chromedp.CSS(`details[open] ol.history`))); !strings.Contains(h, "first result") || !strings.Contains(h, "fail") {
		t.Errorf("a failing result's history:\n%s", h)
	}
	checkAccessible(t, ctx, "an asset's page")

	// The operator may not review: no form, and the auditor signs in.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"evidence"),
		chromedp.Click(chromedp.CSS(`td a[href*="/evidence/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chain-ok]`)),
	))
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('main textarea').length`)); n != 0 {
		t.Errorf("an operator sees %d review forms", n)
	}
	evidenceURL := browse(t, ctx, chromedp.Evaluate[string](`location.pathname`))
	browserSignOut(t, ctx)
	browserSignIn(t, ctx, env.base, "dana", citadel.RoleAuditor)

	// The review queue, one record approved with a comment by the auditor.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"evidence"),
		chromedp.WaitVisible(chromedp.CSS(`td a[href*="/evidence/"]`)),
	))
	checkAccessible(t, ctx, "the Evidence review page")
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+evidenceURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chain-ok]`)),
		chromedp.Click(chromedp.Search(`//button[.="Approve"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="alert" and contains(., "comment is required")]`)),
		chromedp.SendKeys(chromedp.CSS(`textarea`), "reviewed in the console"),
		chromedp.Click(chromedp.Search(`//button[.="Approve"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="status" and contains(., "Approved by dana")]`)),
		chromedp.WaitVisible(chromedp.Search(`//td[.="reviewed in the console"]`)),
	))
	checkAccessible(t, ctx, "an evidence record's page")
	saveScreenshot(t, "evidence.png", browse(t, ctx, chromedp.FullScreenshot(100)))
	if ev := browse(t, ctx, chromedp.Text(chromedp.CSS(`main`))); !strings.Contains(ev, "approved") || !strings.Contains(ev, "the chain is unbroken") {
		t.Errorf("the evidence's page after approval:\n%s", ev)
	}

	// A second scan, cancelled from its page by the operator.
	browserSignOut(t, ctx)
	browserSignIn(t, ctx, env.base, "oscar", citadel.RoleOperator)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"integrations"),
		chromedp.Click(chromedp.CSS(`button[aria-label="Scan now: Demo estate"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Cancel scan of Demo estate"]`)),
		chromedp.Click(chromedp.CSS(`td a[href*="/scans/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=scan-status]`)),
		chromedp.Click(chromedp.Search(`//main//div[@class="card"]//button[.="Cancel scan"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[@data-testid="scan-status"]//span[.="cancelled"]`)),
	))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("the browser: %v", err)
	}
}
