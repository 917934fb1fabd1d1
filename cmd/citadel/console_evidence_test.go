package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
)

// TestConsoleEvidenceException: an evidence record's page names the
// exception covering its result, and each revision the exception decision
// it recorded (who approved it, then its revocation), the chain verified.
func TestConsoleEvidenceException(t *testing.T) {
	env, in := serveConsoleWith(t, "int-ev", "Evidence", "135792468013", "eu-west-1")
	bg := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	exc := citadel.Exception{ID: "exc-console", FolderID: "fld-console", IntegrationID: in.ID, CheckID: "s3_bucket_public_access",
		Scope: citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, Justification: "a public website by design", Owner: "web-team",
		RequestedBy: "omar", RequestedAt: now.Add(-3 * time.Hour), ExpiresAt: now.AddDate(0, 1, 0), Status: citadel.ExceptionApproved,
		History: []citadel.ExceptionTransition{{To: citadel.ExceptionRequested, By: "omar", At: now.Add(-3 * time.Hour)},
			{From: citadel.ExceptionRequested, To: citadel.ExceptionApproved, By: "dana", At: now.Add(-2 * time.Hour), Note: "until the CDN move"}}}
	revoked := exc
	revoked.Status = citadel.ExceptionRevoked
	revoked.History = append(revoked.History, citadel.ExceptionTransition{From: citadel.ExceptionApproved, To: citadel.ExceptionRevoked, By: "ciso", At: now.Add(-time.Hour)})
	id := citadel.EvidenceID(in.ID, exc.CheckID, "asset-1")
	raw := []byte(`{"status_code":"FAIL"}`)
	applied, ended := exc.RecordDecision(true, now), revoked.RecordDecision(false, now)
	r1 := citadel.NewRevision(id, 1, "scan-0001", raw, nil, now.Add(-4*time.Hour))
	r2 := citadel.NewExceptionRevision(id, 2, "scan-0001", raw, &applied, &r1, now.Add(-2*time.Hour))
	r3 := citadel.NewExceptionRevision(id, 3, "scan-0001", raw, &ended, &r2, now.Add(-time.Hour))
	e := citadel.Evidence{ID: id, FolderID: "fld-console", SourceIntegration: in.ID, CheckID: exc.CheckID, AssetID: "asset-1",
		Name: "site-bucket: S3 bucket is not public", Origin: citadel.OriginScan, Status: citadel.EvidenceInReview, IsContinuous: true,
		AssetName: "site-bucket", ResultStatus: citadel.StatusFail, RevisionCount: 1, LatestHash: r1.Hash, CreatedAt: now, UpdatedAt: now}
	if c, err := env.store.WriteEvidence(bg, []ddb.EvidenceWrite{{Evidence: e, Revision: &r1, Create: true}}); err != nil || len(c) > 0 {
		t.Fatalf("evidence: %v %v", c, err)
	}
	for _, r := range []citadel.EvidenceRevision{r2, r3} {
		w := ddb.EvidenceWrite{PrevRevisionCount: e.RevisionCount, PrevStatus: e.Status}
		e.RevisionCount, e.LatestHash = r.Number, r.Hash
		e.ResultStatus, e.ExceptionID = citadel.StatusExcepted, exc.ID
		if !r.Exception.Applies {
			e.ResultStatus, e.ExceptionID = citadel.StatusFail, ""
		}
		w.Evidence, w.Revision = e, &r
		if c, err := env.store.WriteEvidence(bg, []ddb.EvidenceWrite{w}); err != nil || len(c) > 0 {
			t.Fatalf("revision %d: %v %v", r.Number, c, err)
		}
	}

	ctx := browser(t, 2*time.Minute)
	browserSignIn(t, ctx, env.base, "dana", citadel.RoleAuditor)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(env.base+ConsolePrefix+"evidence/"+id),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chain-ok]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=revision-exception]`)), // the newest revision is open
	))
	main := browse(t, ctx, chromedp.Text(chromedp.CSS(`main`)))
	for _, want := range []string{"Revision 3", "exception ended", "Revision 2", "exception applies", "Exception ended: exc-console", "by ciso"} {
		if !strings.Contains(main, want) {
			t.Errorf("the evidence's page lacks %q:\n%s", want, main)
		}
	}
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//summary[contains(., "Revision 2")]`)),
		chromedp.WaitVisible(chromedp.Search(`//section[@data-testid="revision-exception"]//h3[contains(., "Exception applied")]`)),
	))
	applies := browse(t, ctx, chromedp.Text(chromedp.Search(`//section[@data-testid="revision-exception" and .//h3[contains(., "Exception applied")]]`)))
	for _, want := range []string{"exc-console", "by dana", "until the CDN move", "a public website by design", "web-team"} {
		if !strings.Contains(applies, want) {
			t.Errorf("revision 2's exception lacks %q:\n%s", want, applies)
		}
	}
	checkAccessible(t, ctx, "an evidence record's page with exceptions")
}
