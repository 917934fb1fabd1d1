package catalogimport_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/catalog"
	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/jobs/catalogimport"
	"github.com/citadelsecure/citadel/shared/stepfn"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

// correctionsFixture is the corrections file of these tests, built on the
// fixture's links as the import computes them (so it holds whatever the
// link ranking makes of the fixture): it adds NET-04 to
// s3_bucket_default_encryption (a network control the import cannot link
// to an encryption check) and removes the best imported link of a check the
// upgrade below keeps.
type correctionsFixture struct {
	path                  string
	removedCheck, removed string                   // the removed link
	want                  []citadel.LinkCorrection // by check, then SCF id
}

var tAt = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC) // the file's explicit at

func newCorrectionsFixture(t *testing.T) correctionsFixture {
	t.Helper()
	cat, err := catalog.Build(os.DirFS(fixtureProwler), os.DirFS(fixtureSCF), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := correctionsFixture{}
	for _, l := range cat.Links {
		if l.CheckID == "s3_bucket_default_encryption" && l.SCFID == "NET-04" {
			t.Fatal("the import links s3_bucket_default_encryption to NET-04: pick another control to add")
		}
		corrected := slices.Contains([]string{"NET-04", "MON-01", "VPM-01", "IRO-01"}, l.SCFID) // by these tests
		if (l.CheckID == "ec2_old_check" || l.CheckID == "s3_bucket_default_encryption") && !corrected && f.removed == "" {
			f.removedCheck, f.removed = l.CheckID, l.SCFID
		}
	}
	if f.removed == "" {
		t.Fatal("the import links neither ec2_old_check nor s3_bucket_default_encryption: pick another check to remove a link of")
	}
	f.path = writeFile(t, "corrections.yaml", fmt.Sprintf(`# Our corrections of the imported links.
corrections:
- check: s3_bucket_default_encryption
  scf: NET-04
  action: add
  reason: "Encryption at rest is part of our network data-protection baseline"
  by: alice@example.com
- {check: %s, scf: %s, action: remove, reason: "the check does not validate this control", by: bob, at: %s}
`, f.removedCheck, f.removed, tAt.Format(time.RFC3339)))
	f.want = sorted(
		citadel.LinkCorrection{CheckID: f.removedCheck, SCFID: f.removed, Action: citadel.LinkRemove, Reason: "the check does not validate this control", By: "bob", At: tAt},
		citadel.LinkCorrection{CheckID: "s3_bucket_default_encryption", SCFID: "NET-04", Action: citadel.LinkAdd,
			Reason: "Encryption at rest is part of our network data-protection baseline", By: "alice@example.com", At: t0},
	)
	return f
}

// sorted orders corrections as the store lists them: by check, then SCF id.
func sorted(cs ...citadel.LinkCorrection) []citadel.LinkCorrection {
	slices.SortFunc(cs, func(a, b citadel.LinkCorrection) int {
		return cmp.Or(strings.Compare(a.CheckID, b.CheckID), strings.Compare(a.SCFID, b.SCFID))
	})
	return cs
}

// removedCorrection is the fixture's remove correction.
func (f correctionsFixture) removedCorrection() citadel.LinkCorrection {
	for _, c := range f.want {
		if c.Action == citadel.LinkRemove {
			return c
		}
	}
	panic("no remove correction")
}

// keepsRemoved reports whether the effective links still hold the removed one.
func (f correctionsFixture) keepsRemoved(links map[string][]string) bool {
	for _, l := range links[f.removedCheck] {
		if strings.Contains(l, " "+f.removed+" ") {
			return true
		}
	}
	return false
}

func clockAt(h *catalogimport.Handler, at time.Time) *catalogimport.Handler {
	h.Env = stepfn.Env{Clock: func() time.Time { return at }}
	return h
}

// effective is every check's effective links as (check, SCF, origin).
func effective(t *testing.T, s *ddb.Store) map[string][]string {
	t.Helper()
	links, err := s.ListEffectiveSCFLinks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, l := range links {
		out[l.CheckID] = append(out[l.CheckID], fmt.Sprintf("%d %s %s", l.Rank, l.SCFID, l.Origin))
	}
	return out
}

func storedCorrections(t *testing.T, s *ddb.Store) []citadel.LinkCorrection {
	t.Helper()
	cs, err := s.ListLinkCorrections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range cs {
		cs[i].At = cs[i].At.UTC()
	}
	return cs
}

func TestCorrectionsFileSurvivesReimportsAndUpgrades(t *testing.T) {
	ctx := context.Background()
	f := newCorrectionsFixture(t)
	s := testenv.Store(t)
	in := withCorrections(f.path)

	// (a) The fixture with the corrections file: the effective links show
	// the manual add first and lack the removed link.
	out, cat, err := handler(s).Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Writes.Corrections != 2 || out.Corrections != 2 || !strings.Contains(out.Message, "2 of them link corrections from "+f.path) {
		t.Errorf("first import: writes %+v, corrections %d, message %q", out.Writes, out.Corrections, out.Message)
	}
	if d := gocmp.Diff(f.want, storedCorrections(t, s)); d != "" {
		t.Errorf("stored corrections (-want +got):\n%s", d)
	}
	got := effective(t, s)
	if s3 := got["s3_bucket_default_encryption"]; len(s3) == 0 || s3[0] != "1 NET-04 manual" {
		t.Errorf("effective links of s3_bucket_default_encryption %v: want 1 NET-04 manual first", s3)
	}
	if f.keepsRemoved(got) {
		t.Errorf("effective links of %s keep the removed %s: %v", f.removedCheck, f.removed, got[f.removedCheck])
	}
	want, err := s.ListCheckSCFLinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(cat.Links, want, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("imported links are not the catalog's (-catalog +stored):\n%s", d)
	}
	all, err := s.ListEffectiveSCFLinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(citadel.EffectiveLinks(cat.Links, f.want), all, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("effective links (-want +got):\n%s", d)
	}

	// (b) The same import again, an hour later: nothing written, and the
	// stored corrections keep their first time.
	before := s.Usage()
	again, err := clockAt(handler(s), t0.Add(time.Hour)).Handle(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(citadel.CatalogWrites{}, again.Writes); d != "" || s.Usage().WriteUnits != before.WriteUnits || !strings.Contains(again.Message, "nothing written") {
		t.Errorf("same import again wrote (-want +got):\n%s\n%v units: %s", d, s.Usage().WriteUnits-before.WriteUnits, again.Message)
	}
	if d := gocmp.Diff(f.want, storedCorrections(t, s)); d != "" {
		t.Errorf("corrections after the same import (-want +got):\n%s", d)
	}

	// A correction made through the API (the store's PutLinkCorrection):
	// one on a check the upgrade keeps, one on a check it drops.
	api := []citadel.LinkCorrection{
		{CheckID: "s3_bucket_default_encryption", SCFID: "MON-01", Action: citadel.LinkAdd, Reason: "bucket encryption changes are monitored", By: "carol", At: t0.Add(2 * time.Hour)},
		{CheckID: "iam_root_mfa_enabled", SCFID: "NET-01", Action: citadel.LinkAdd, Reason: "root access is a network boundary", By: "carol", At: t0.Add(2 * time.Hour)},
	}
	for _, c := range api {
		if err := s.PutLinkCorrection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	// (c) A newer Prowler (as in TestImportFixtureThenUpgrade: one check
	// changed, one removed) with the same file: the links are re-imported,
	// the file's and the API's corrections stay as they were.
	dir := upgradedFixture(t)
	up, upCat, err := clockAt(handler(s), t0.Add(3*time.Hour)).Run(ctx, citadel.CatalogImportInput{ProwlerSource: dir, SCFSource: fixtureSCF, CorrectionsSource: f.path})
	if err != nil {
		t.Fatal(err)
	}
	if up.ProwlerVersion != "10.0.0" || up.Writes.Checks != 1 || up.Writes.ChecksDeprecated != 1 || up.Writes.Corrections != 0 {
		t.Errorf("upgrade: version %s, writes %+v", up.ProwlerVersion, up.Writes)
	}
	wantAll := sorted(append(slices.Clone(f.want), api...)...)
	if d := gocmp.Diff(wantAll, storedCorrections(t, s)); d != "" {
		t.Errorf("corrections after the upgrade (-want +got):\n%s", d)
	}
	got = effective(t, s)
	if s3 := got["s3_bucket_default_encryption"]; len(s3) < 2 || s3[0] != "1 MON-01 manual" || s3[1] != "2 NET-04 manual" {
		t.Errorf("effective links of s3_bucket_default_encryption after the upgrade %v: want MON-01 and NET-04 manual first", s3)
	}
	if f.keepsRemoved(got) {
		t.Errorf("effective links of %s after the upgrade keep the removed %s: %v", f.removedCheck, f.removed, got[f.removedCheck])
	}
	if d := gocmp.Diff([]string{"1 NET-01 manual"}, got["iam_root_mfa_enabled"]); d != "" {
		t.Errorf("effective links of the dropped iam_root_mfa_enabled (-want +got):\n%s", d)
	}
	all, err = s.ListEffectiveSCFLinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(citadel.EffectiveLinks(upCat.Links, wantAll), all, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("effective links after the upgrade (-want +got):\n%s", d)
	}

	// A file naming a check the new Prowler no longer ships is refused (the
	// stored corrections of that check stay, as above).
	stale := writeFile(t, "stale.yaml", strings.Replace(goodCorrection, "s3_bucket_default_encryption", "iam_root_mfa_enabled", 1))
	before = s.Usage()
	_, err = handler(s).Handle(ctx, citadel.CatalogImportInput{ProwlerSource: dir, SCFSource: fixtureSCF, CorrectionsSource: stale})
	if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), `stale.yaml:2: unknown check "iam_root_mfa_enabled" (not a check of Prowler 10.0.0)`) {
		t.Errorf("a file naming a dropped check: %v", err)
	}
	if after := s.Usage(); after.Requests != before.Requests {
		t.Errorf("a refused file touched the store: %d requests", after.Requests-before.Requests)
	}
}

func TestCorrectionsFileChangesAreWritten(t *testing.T) {
	ctx := context.Background()
	f := newCorrectionsFixture(t)
	s := testenv.Store(t)
	if _, err := handler(s).Handle(ctx, withCorrections(f.path)); err != nil {
		t.Fatal(err)
	}
	// Through the API, someone corrects a pair the file will name.
	if err := s.PutLinkCorrection(ctx, citadel.LinkCorrection{CheckID: "s3_bucket_default_encryption", SCFID: "VPM-01", Action: citadel.LinkAdd, Reason: "scanned for vulnerabilities", By: "dave", At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The file changes: a reason edited, the explicit at moved (only: at is
	// not compared, so nothing to write), the API's pair named, one added.
	b, _ := os.ReadFile(f.path)
	src := strings.Replace(string(b), "network data-protection baseline", "data-protection baseline", 1)
	src = strings.Replace(src, tAt.Format(time.RFC3339), "2026-02-01", 1)
	src += "- {check: s3_bucket_default_encryption, scf: VPM-01, action: remove, reason: \"not a vulnerability control\", by: erin}\n"
	src += "- {check: s3_bucket_default_encryption, scf: IRO-01, action: add, reason: \"an unencrypted bucket is an incident\", by: erin}\n"
	changed := writeFile(t, "changed.yaml", src)

	later := t0.Add(2 * time.Hour)
	out, err := clockAt(handler(s), later).Handle(ctx, withCorrections(changed))
	if err != nil {
		t.Fatal(err)
	}
	// Written: the edited reason, the API's pair (the file wins for the
	// pairs it names) and the new one, at the import's time; nothing else.
	if d := gocmp.Diff(citadel.CatalogWrites{Corrections: 3, Version: 1}, out.Writes); d != "" {
		t.Errorf("writes (-want +got):\n%s", d)
	}
	wantStored := sorted(
		f.removedCorrection(), // its at moved in the file, but nothing else: kept as stored
		citadel.LinkCorrection{CheckID: "s3_bucket_default_encryption", SCFID: "IRO-01", Action: citadel.LinkAdd, Reason: "an unencrypted bucket is an incident", By: "erin", At: later},
		citadel.LinkCorrection{CheckID: "s3_bucket_default_encryption", SCFID: "NET-04", Action: citadel.LinkAdd,
			Reason: "Encryption at rest is part of our data-protection baseline", By: "alice@example.com", At: later},
		citadel.LinkCorrection{CheckID: "s3_bucket_default_encryption", SCFID: "VPM-01", Action: citadel.LinkRemove, Reason: "not a vulnerability control", By: "erin", At: later},
	)
	if d := gocmp.Diff(wantStored, storedCorrections(t, s)); d != "" {
		t.Errorf("stored corrections (-want +got):\n%s", d)
	}
	// A file that names fewer pairs deletes nothing.
	fewer := writeFile(t, "fewer.yaml", "corrections: []\n")
	out, err = clockAt(handler(s), later.Add(time.Hour)).Handle(ctx, withCorrections(fewer))
	if err != nil || out.Writes.Total() != 0 {
		t.Errorf("empty corrections file: writes %+v, %v", out.Writes, err)
	}
	if d := gocmp.Diff(wantStored, storedCorrections(t, s)); d != "" {
		t.Errorf("corrections after an empty file (-want +got):\n%s", d)
	}
}

func TestCorrectionsFromS3(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	acct, _, _ := testenv.Account(t, cfg)
	client, bucket := testenv.Bucket(t, acct)
	f := newCorrectionsFixture(t)
	body, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("catalog/corrections.yaml"), Body: strings.NewReader(string(body))}); err != nil {
		t.Fatal(err)
	}
	s := testenv.Store(t)
	h := handler(s)
	h.S3 = client
	src := "s3://" + bucket + "/catalog/corrections.yaml"
	out, err := h.Handle(ctx, withCorrections(src))
	if err != nil {
		t.Fatal(err)
	}
	if out.Writes.Corrections != 2 {
		t.Errorf("writes %+v", out.Writes)
	}
	if d := gocmp.Diff(f.want, storedCorrections(t, s)); d != "" {
		t.Errorf("stored corrections (-want +got):\n%s", d)
	}

	for _, tc := range []struct{ name, src, want string }{
		{"missing object", "s3://" + bucket + "/catalog/nothing.yaml", "no such object"},
		{"missing bucket", "s3://citadel-test-missing-bucket/catalog/corrections.yaml", "no such object"},
		{"a prefix, not an object", "s3://" + bucket + "/catalog/", "not an s3://bucket/key URL of an object"},
		{"no key", "s3://" + bucket, "not an s3://bucket/key URL of an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Usage()
			_, err := h.Handle(ctx, withCorrections(tc.src))
			if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an invalid-input error saying %q", err, tc.want)
			}
			if after := s.Usage(); after.Requests != before.Requests {
				t.Errorf("bad corrections source touched the store: %d requests", after.Requests-before.Requests)
			}
		})
	}
}

func TestCorrectionsFileSizeCap(t *testing.T) {
	big := writeFile(t, "big.yaml", goodCorrection+"# "+strings.Repeat("x", catalogimport.MaxCorrectionsFile)+"\n")
	s := testenv.Store(t)
	_, err := handler(s).Handle(context.Background(), withCorrections(big))
	if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), "over 8388608 bytes") {
		t.Errorf("oversized corrections file: %v", err)
	}
	if u := s.Usage(); u.Requests != 0 {
		t.Errorf("oversized corrections file touched the store: %d requests", u.Requests)
	}
}
