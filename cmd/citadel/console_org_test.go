package main

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// TestConsoleOrganization: an admin adds an AWS Organization through the
// form (its options, the management account's and the members' deploy
// commands); its page shows its kind, its options and its members (seeded
// as its sync would), and edits the options with the API's refusal shown in
// its words; a member's page says whose member it is and offers no edit or
// delete; an ended organization scan shows its members' outcomes, each
// failed or skipped account a link to its member and its scan, whose page
// links back to the organization's scan. A viewer sees the organization's
// page without a form.
func TestConsoleOrganization(t *testing.T) {
	dir := consoleBuildDir(t)
	env := serveConsole(t, dir)
	bg := context.Background()
	if err := env.store.CreateFolder(bg, citadel.Folder{ID: "fld-console", Name: "console", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f := seedOrganization(t, env.store, "fld-console")
	ctx := browser(t, 3*time.Minute)
	browserSignIn(t, ctx, env.base, "ana", citadel.RoleAdmin)
	count := func(selector string) int {
		return browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(selector)+`).length`))
	}
	// setInput replaces an input's value as typing would.
	setInput := func(name, value string) {
		browse(t, ctx, chromedp.Evaluate[bool](`(() => {
			const el = document.querySelector('input[name=`+name+`]');
			el.value = `+jsString(value)+`;
			el.dispatchEvent(new Event('input', {bubbles: true}));
			return true;
		})()`))
	}

	// The add form, as an organization.
	const account, trusted = "210987654321", "123456789012"
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"integrations"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=frameworks]`)),
		chromedp.Click(chromedp.CSS(`input[name=kind][value=organization]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=ous]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=account_id]`), account),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Globex"),
		chromedp.SendKeys(chromedp.CSS(`input[name=trusted_account_id]`), trusted),
		chromedp.SendKeys(chromedp.CSS(`input[name=ous]`), "ou-ab12-cdefgh34"),
		chromedp.SendKeys(chromedp.CSS(`input[name=exclude_accounts]`), "444455556666"),
		chromedp.Click(chromedp.CSS(`input[name=frameworks]`)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=member-command]`)),
		chromedp.WaitVisible(chromedp.Search(`//td[contains(., "Globex")]`)),
	))
	checkAccessible(t, ctx, "the Integrations page with an organization added")
	saveScreenshot(t, "integrations-organization.png", browse(t, ctx, chromedp.FullScreenshot(100)))
	command := strings.TrimSpace(browse(t, ctx, chromedp.Text(chromedp.CSS(`[data-testid=cdk-command]`))))
	members := strings.TrimSpace(browse(t, ctx, chromedp.Text(chromedp.CSS(`[data-testid=member-command]`))))
	m := regexp.MustCompile(`^cdk deploy CitadelTargetRole --parameters TrustedAccountId=` + trusted + ` --parameters ExternalId=(citadel-[0-9a-f]{32})$`).FindStringSubmatch(command)
	if m == nil || !regexp.MustCompile(`^cdk deploy CitadelOrgStackSet -c orgStackSet=true -c orgStackSetTargets=\S+ --parameters TrustedAccountId=`+trusted+` --parameters ExternalId=`+m[1]+`$`).MatchString(members) {
		t.Errorf("the deploy commands: management %q, members %q", command, members)
	}
	page, err := env.store.ListIntegrations(bg, "fld-console", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(page.Items, func(in citadel.Integration) bool { return in.Name == "Globex" })
	if i < 0 {
		t.Fatalf("no Globex stored: %+v", page.Items)
	}
	globex := page.Items[i]
	if !globex.IsOrganization() || globex.Organization == nil || !slices.Equal(globex.Organization.OUs, []string{"ou-ab12-cdefgh34"}) ||
		!slices.Equal(globex.Organization.ExcludeAccounts, []string{"444455556666"}) || m == nil || globex.ExternalID != m[1] {
		t.Errorf("stored: %+v %+v", globex, globex.Organization)
	}
	member := globex.Member("555566667777", "Globex payments", time.Now())
	if err := env.store.CreateIntegration(bg, member); err != nil {
		t.Fatal(err)
	}

	// The organization's page: its kind, options and members; its options
	// refused in the API's words, then saved.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"integrations/"+globex.ID),
		chromedp.WaitVisible(chromedp.Search(`//table[@data-testid="members"]//a[.="Globex payments"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[.="Save options"]`)),
	))
	if main := browse(t, ctx, chromedp.Text(chromedp.CSS(`main`))); !strings.Contains(main, "AWS Organization") || !strings.Contains(main, "ou-ab12-cdefgh34") ||
		!strings.Contains(main, "1 member") {
		t.Errorf("the organization's page:\n%s", main)
	}
	setInput("include_accounts", "444455556666")
	alert := `//section[@aria-labelledby="options-heading"]//p[@role="alert"]`
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//button[.="Save options"]`)),
		chromedp.WaitVisible(chromedp.Search(alert)),
	))
	if got, want := browse(t, ctx, chromedp.Text(chromedp.Search(alert))), "account 444455556666 is both included and excluded"; !strings.Contains(got, want) {
		t.Errorf("the refused options say %q, want %q", got, want)
	}
	setInput("include_accounts", "")
	setInput("exclude_accounts", "444455556666, 999988887777")
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//button[.="Save options"]`)),
		chromedp.WaitVisible(chromedp.Search(`//section[@aria-labelledby="options-heading"]//p[@role="status"]`)),
	))
	if got, err := env.store.GetIntegration(bg, globex.ID); err != nil || !slices.Equal(got.Organization.ExcludeAccounts, []string{"444455556666", "999988887777"}) ||
		!slices.Equal(got.Organization.OUs, globex.Organization.OUs) {
		t.Errorf("after saving the options: %+v (%v)", got.Organization, err)
	}
	checkAccessible(t, ctx, "an organization's page (admin)")
	saveScreenshot(t, "organization.png", browse(t, ctx, chromedp.FullScreenshot(100)))

	// A member's page: whose member it is, and no edit or delete.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//table[@data-testid="members"]//a[.="Globex payments"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[@data-testid="member-of"]/a[.="Globex"]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[.="Verify access"]`)),
	))
	for _, b := range []string{"Save changes", "Delete integration", "Save options"} {
		if n := browse(t, ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('main button')].filter(b => b.textContent.trim() === `+jsString(b)+`).length`)); n != 0 {
			t.Errorf("a member's page offers %q (%d)", b, n)
		}
	}
	if href := browse(t, ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=member-of] a').getAttribute('href')`)); !strings.HasSuffix(href, "/integrations/"+globex.ID) {
		t.Errorf("the member's link to its organization: %s", href)
	}
	checkAccessible(t, ctx, "a member's page")
	saveScreenshot(t, "member.png", browse(t, ctx, chromedp.CaptureScreenshot()))

	// An ended organization scan: its members' outcomes, each a link.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"scans/"+f.scan.ID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=org-summary]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=skipped-accounts]`)),
	))
	summary := browse(t, ctx, chromedp.Text(chromedp.CSS(`[data-testid=org-summary]`)))
	for _, want := range []string{"Members", "Succeeded", "Failed accounts", f.payments.AccountID, "AccessDenied", "Skipped accounts", f.sandbox.AccountID,
		"already has scan scan-earlier running", "listed 4"} {
		if !strings.Contains(summary, want) {
			t.Errorf("the organization scan's summary has no %q:\n%s", want, summary)
		}
	}
	if n := count(`[data-testid=failed-accounts] a[href$="/integrations/` + f.payments.ID + `"]`); n != 1 {
		t.Errorf("the failed account links to its member %d times", n)
	}
	checkAccessible(t, ctx, "an organization scan's page")
	saveScreenshot(t, "org-scan.png", browse(t, ctx, chromedp.FullScreenshot(100)))
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid=failed-accounts] a[href$="/scans/`+f.memberScan.ID+`"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[@data-testid="parent-scan"]/a[.="`+f.scan.ID+`"]`)),
	))
	checkAccessible(t, ctx, "a member scan's page")
	// The organization's scans, each with its members' counts.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"scans?integration="+f.org.ID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=org-counts]`)),
	))
	if got := browse(t, ctx, chromedp.Text(chromedp.CSS(`[data-testid=org-counts]`))); !strings.Contains(got, "3 members, 1 succeeded, 1 failed, 1 skipped") {
		t.Errorf("the organization's scans list says %q", got)
	}
	checkAccessible(t, ctx, "an organization's scans")

	// A viewer reads the organization's page and its members, with no form.
	browserSignOut(t, ctx)
	browserSignIn(t, ctx, env.base, "val", citadel.RoleViewer)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"integrations/"+f.org.ID),
		chromedp.WaitVisible(chromedp.Search(`//table[@data-testid="members"]//a[.="Payments"]`)),
	))
	if n := count(`main button, main input`); n != 0 {
		t.Errorf("a viewer sees %d buttons or inputs on the organization's page", n)
	}
	checkAccessible(t, ctx, "an organization's page (viewer)")
}
