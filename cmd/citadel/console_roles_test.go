package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestConsoleViewerCannotAdmin signs a viewer in: the admin's and the
// operator's actions are absent from the pages, and the same delete sent
// with the viewer's token is refused by the API (403) with the integration
// kept. The admin then sees them all on the integration's page, which axe
// checks with its forms.
func TestConsoleViewerCannotAdmin(t *testing.T) {
	env, in := serveConsoleWith(t, "int-payments", "Payments", "210987654321", "us-east-1")
	bg := context.Background()
	ctx := browser(t, 2*time.Minute)
	browserSignIn(t, ctx, env.base, "val", citadel.RoleViewer)

	count := func(selector string) int {
		return browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(selector)+`).length`))
	}
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"integrations"),
		chromedp.WaitVisible(chromedp.Search(`//td//a[.="Payments"]`)),
	))
	// What only an admin (the form) and an operator (Scan now) see.
	actions := map[string]string{
		`input[name=account_id]`:                  "the add form",
		`button[aria-label="Scan now: Payments"]`: "Scan now",
	}
	for sel, what := range actions {
		if n := count(sel); n != 0 {
			t.Errorf("a viewer sees %s on the Integrations page (%d)", what, n)
		}
	}
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//td//a[.="Payments"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[.="Payments"]`)),
	))
	if n := count(`main button`); n != 0 {
		t.Errorf("a viewer sees %d buttons on the integration's page:\n%s", n, browse(t, ctx, chromedp.Text(chromedp.CSS(`main`))))
	}
	checkAccessible(t, ctx, "an integration's page (viewer)")

	// The API refuses what the page does not offer.
	status := browse(t, ctx, chromedp.Evaluate[int](`(async () => {
		const s = JSON.parse(sessionStorage.getItem('citadel.dev-sign-in'));
		const r = await fetch('/integrations/int-payments', {method: 'DELETE', headers: {Authorization: 'Bearer ' + s.token}});
		return r.status;
	})()`, chromedp.EvalAwaitPromise))
	if status != 403 {
		t.Errorf("a viewer's DELETE /integrations/int-payments: %d, want 403", status)
	}
	if _, err := env.store.GetIntegration(bg, in.ID); err != nil {
		t.Errorf("the refused delete lost the integration: %v", err)
	}

	browserSignOut(t, ctx)
	browserSignIn(t, ctx, env.base, "ana", citadel.RoleAdmin)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"integrations"),
		chromedp.WaitVisible(chromedp.Search(`//td//a[.="Payments"]`)),
	))
	for sel, what := range actions {
		if n := count(sel); n != 1 {
			t.Errorf("an admin sees %s %d times on the Integrations page, want once", what, n)
		}
	}
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"integrations/int-payments"),
		chromedp.WaitVisible(chromedp.Search(`//button[.="Delete integration"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[.="Save changes"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[.="Verify access"]`)),
	))
	checkAccessible(t, ctx, "an integration's page (admin)")

	// A region AWS lacks: the page sends it, the API refuses it in its own
	// words (the console keeps no copy of the rule) and nothing is stored.
	browse(t, ctx, chromedp.Evaluate[bool](`(() => {
		const el = document.querySelector('input[name=regions]');
		el.value = 'us-east-1, us-east-9';
		el.dispatchEvent(new Event('input', {bubbles: true}));
		return true;
	})()`))
	alert := `//section[@aria-labelledby="edit-heading"]//p[@role="alert"]`
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//button[.="Save changes"]`)),
		chromedp.WaitVisible(chromedp.Search(alert)),
	))
	if got, want := browse(t, ctx, chromedp.Text(chromedp.Search(alert))), `region "us-east-9" is not an AWS region name`; !strings.Contains(got, want) {
		t.Errorf("the refused save says %q, want it to contain %q", got, want)
	}
	if got, err := env.store.GetIntegration(bg, in.ID); err != nil || !slices.Equal(got.Regions, in.Regions) {
		t.Errorf("after the refused save the integration has regions %v (%v), want %v", got.Regions, err, in.Regions)
	}
	saveScreenshot(t, "integration.png", browse(t, ctx, chromedp.FullScreenshot(100)))
}

// jsString quotes s for a JavaScript expression (a JSON string is one).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
