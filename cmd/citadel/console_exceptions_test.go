package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/citadelsecure/citadel/cmd/citadel/internal/demoestate"
	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestConsoleExceptions runs an exception through the console: an operator
// requests one on every asset of an account (the form's refusal of a past
// expiry in the API's words first), sees it in the queue and cannot decide
// it; an auditor approves it with a note, and the page shows its history.
// The stored exception is the one the pages showed; axe checks each page.
func TestConsoleExceptions(t *testing.T) {
	env, acct := serveConsoleWith(t, "int-ledger", "Ledger", "246813579024", "eu-west-1")
	bg := context.Background()
	now := time.Now()
	check := demoestate.Checks[0]
	ctx := browser(t, 3*time.Minute)
	text := func(sel string) string { return browse(t, ctx, chromedp.Text(chromedp.CSS(sel))) }
	// fill sets a form field's value as typing would.
	fill := func(name, value string) {
		browse(t, ctx, chromedp.Evaluate[bool](`(() => {
			const el = document.querySelector('[name=`+name+`]');
			el.value = `+jsString(value)+`;
			el.dispatchEvent(new Event('input', {bubbles: true}));
			return true;
		})()`))
	}

	browserSignIn(t, ctx, env.base, "omar", citadel.RoleOperator)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"exceptions"),
		chromedp.WaitVisible(chromedp.Search(`//main//caption[contains(., "exception")]`)),
	))
	if n := browse(t, ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('main a')].filter(a => a.textContent === 'Request an exception').length`)); n != 1 {
		t.Fatalf("an operator's exceptions page offers no request (%d):\n%s", n, text(`main`))
	}
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//a[.="Request an exception"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=check_id]`)),
		chromedp.WaitReady(chromedp.Search(`//select[@name="integration_id"]/option[@value="int-ledger"]`)), // an option is never "visible"
	))
	fill("check_id", check)
	fill("justification", "This sandbox account keeps its logs 7 days by design; tracked in RISK-12.")
	fill("owner", "platform-team")
	fill("expires", now.AddDate(0, 0, -2).Format(time.DateOnly))
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[name=kind][value=integration]`)),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form p[role=alert]`)),
	))
	if got := text(`form p[role=alert]`); !strings.Contains(got, "expires_at") {
		t.Errorf("a past expiry is refused with %q; want the API's words on expires_at", got)
	}
	checkAccessible(t, ctx, "the exception request form, refused")
	if p, err := env.store.ListExceptionsOfIntegration(bg, acct.ID, "", 10, ""); err != nil || len(p.Items) != 0 {
		t.Fatalf("the refused request stored %+v (%v)", p.Items, err)
	}

	expires := now.AddDate(0, 0, 30).Format(time.DateOnly)
	fill("expires", expires)
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "Exception of")]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=no-decision]`)),
	))
	page, err := env.store.ListExceptionsOfIntegration(bg, acct.ID, "", 10, "")
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("stored exceptions: %+v (%v)", page.Items, err)
	}
	x := page.Items[0]
	if x.Status != citadel.ExceptionRequested || x.CheckID != check || x.Scope.Kind != citadel.ScopeIntegration || x.Owner != "platform-team" ||
		!strings.Contains(x.RequestedBy, "omar") || x.ExpiresAt.Format(time.DateOnly) != expires {
		t.Errorf("stored: %+v", x)
	}
	if main := text(`main`); !strings.Contains(main, "every asset of the integration") || !strings.Contains(main, "RISK-12") {
		t.Errorf("the exception's page:\n%s", main)
	}
	checkAccessible(t, ctx, "an exception's page (operator)")

	// The queue: requested exceptions of the folder.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"exceptions"),
		chromedp.WaitVisible(chromedp.Search(`//td//a[.="`+check+`"]`)),
	))
	checkAccessible(t, ctx, "the exceptions queue")

	browserSignOut(t, ctx)
	browserSignIn(t, ctx, env.base, "aude", citadel.RoleAuditor)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"exceptions"),
		chromedp.Click(chromedp.Search(`//td//a[.="`+check+`"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[.="Approve"]`)),
	))
	fill("note", "Accepted until the migration; reviewed with the owner.")
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//button[.="Approve"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@role="status" and .="Approved."]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[.="Revoke"]`)),
	))
	got, err := env.store.GetException(bg, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != citadel.ExceptionApproved || !strings.Contains(got.DecidedBy, "aude") || got.DecisionNote != "Accepted until the migration; reviewed with the owner." {
		t.Errorf("after the approval: %+v", got)
	}
	if rows := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('main table tbody tr').length`)); rows != 2 {
		t.Errorf("the history shows %d transitions, want 2 (requested, approved)", rows)
	}
	checkAccessible(t, ctx, "an approved exception's page (auditor)")
	saveScreenshot(t, "exception.png", browse(t, ctx, chromedp.FullScreenshot(100)))
}
