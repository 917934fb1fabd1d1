package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// createFolders stores folders (named after their ids), so a test may name
// them in folder_id: an unknown folder is a 404.
func (f *fixture) createFolders(ids ...string) {
	f.t.Helper()
	for _, id := range ids {
		if err := f.store.CreateFolder(context.Background(), citadel.Folder{ID: id, Name: id, CreatedAt: t0}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// TestFolders: create (the id given, else a new one; an existing id a 409),
// list (paged, by id, the default folder among them), show, rename; every
// refusal a 400 naming the field, an unknown folder a 404.
func TestFolders(t *testing.T) {
	f := newFixture(t)
	rec := f.do("POST", "/folders", `{"id":"team-a","name":"Team A"}`)
	expect(t, rec, http.StatusCreated, "", "")
	if loc := rec.Header().Get("Location"); loc != "/folders/team-a" {
		t.Errorf("Location %q, want /folders/team-a", loc)
	}
	teamA := citadel.Folder{ID: "team-a", Name: "Team A", CreatedAt: t0}
	if d := cmp.Diff(teamA, decodeBody[citadel.Folder](t, rec)); d != "" {
		t.Errorf("created (-want +got):\n%s", d)
	}
	generated := decodeBody[citadel.Folder](t, f.do("POST", "/folders", `{"name":"Billing"}`))
	if generated.ID != "fld-0001" || generated.Name != "Billing" {
		t.Errorf("created without an id: %+v, want fld-0001", generated)
	}
	// The fixed clock makes an identical create a retry (the store's rule);
	// another folder under the id is a 409.
	expect(t, f.do("POST", "/folders", `{"id":"team-a","name":"Team B"}`), http.StatusConflict, "conflict", "folder team-a already exists")

	want := []citadel.Folder{generated, {ID: testFolder, Name: testFolder, CreatedAt: t0}, teamA}
	for _, limit := range []int{1, 2, 100} {
		var got []citadel.Folder
		next := ""
		for range 5 {
			path := fmt.Sprintf("/folders?limit=%d", limit)
			if next != "" {
				path += "&cursor=" + next
			}
			page := decodeBody[citadel.Page[citadel.Folder]](t, f.do("GET", path, ""))
			got = append(got, page.Items...)
			if next = page.Next; next == "" {
				break
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("GET /folders, limit %d (-want +got):\n%s", limit, d)
		}
	}

	if d := cmp.Diff(teamA, decodeBody[citadel.Folder](t, f.do("GET", "/folders/team-a", ""))); d != "" {
		t.Errorf("GET /folders/team-a (-want +got):\n%s", d)
	}
	renamed := decodeBody[citadel.Folder](t, f.do("PATCH", "/folders/team-a", `{"name":"Team A (EMEA)"}`))
	wantRenamed := citadel.Folder{ID: "team-a", Name: "Team A (EMEA)", CreatedAt: t0, UpdatedAt: t0}
	if d := cmp.Diff(wantRenamed, renamed); d != "" {
		t.Errorf("renamed (-want +got):\n%s", d)
	}
	if stored, err := f.store.GetFolder(context.Background(), "team-a"); err != nil || !cmp.Equal(wantRenamed, stored) {
		t.Errorf("stored after rename: %+v (%v)", stored, err)
	}

	long := strings.Repeat("é", citadel.MaxFolderName+1)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, says               string
	}{
		{"no name", "POST", "/folders", `{"id":"x"}`, 400, "invalid", `"name"`},
		{"empty name", "POST", "/folders", `{"name":""}`, 400, "invalid", `"name"`},
		{"blank name", "POST", "/folders", `{"name":"   "}`, 400, "invalid", `"name"`},
		{"blank in Unicode", "POST", "/folders", `{"name":"\u00a0\u2003"}`, 400, "invalid", "name is required"},
		{"name too long", "POST", "/folders", `{"name":"` + long + `"}`, 400, "invalid", `"name"`},
		{"name not a string", "POST", "/folders", `{"name":7}`, 400, "invalid", `"name"`},
		{"bad id", "POST", "/folders", `{"id":"a/b","name":"x"}`, 400, "invalid", `"id"`},
		{"unknown field", "POST", "/folders", `{"name":"x","colour":"red"}`, 400, "invalid", "colour"},
		{"no body", "POST", "/folders", ``, 400, "invalid", "body"},
		{"rename without a name", "PATCH", "/folders/team-a", `{}`, 400, "invalid", `"name"`},
		{"rename to blank", "PATCH", "/folders/team-a", `{"name":" "}`, 400, "invalid", `"name"`},
		{"rename too long", "PATCH", "/folders/team-a", `{"name":"` + long + `"}`, 400, "invalid", `"name"`},
		{"rename an unknown folder", "PATCH", "/folders/nope", `{"name":"x"}`, 404, "not_found", "folder nope not found"},
		{"show an unknown folder", "GET", "/folders/nope", ``, 404, "not_found", "folder nope not found"},
		{"show a bad id", "GET", "/folders/a%20b", ``, 400, "invalid", `"id"`},
		{"bad limit", "GET", "/folders?limit=0", ``, 400, "invalid", `"limit"`},
		{"a forged cursor", "GET", "/folders?cursor=" + b64(`{"a":"b"}`), ``, 400, "invalid", "cursor is not one this API returned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, f.do(tc.method, tc.path, tc.body), tc.status, tc.code, tc.says)
		})
	}
	// Nothing refused was stored or changed.
	page := decodeBody[citadel.Page[citadel.Folder]](t, f.do("GET", "/folders", ""))
	if len(page.Items) != 3 || page.Items[2].Name != "Team A (EMEA)" {
		t.Errorf("after the refusals: %+v", page.Items)
	}
}

// TestUnknownFolderIs404: every route that takes a folder_id answers a
// folder that does not exist with a 404 naming it, and stores nothing.
func TestUnknownFolderIs404(t *testing.T) {
	f := newFixture(t)
	f.putFrameworks("cis_2.0", "soc2")
	ra := citadel.RequirementAssessmentID("nope", "soc2:cc_6_1")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/integrations?folder_id=nope", ""},
		{"POST", "/integrations", `{"name":"prod","account_id":"123456789012","frameworks":["cis_2.0"],"folder_id":"nope"}`},
		{"GET", "/controls?folder_id=nope", ""},
		{"GET", "/evidence?folder_id=nope", ""},
		{"GET", "/evidence?folder_id=nope&status=in_review", ""},
		{"GET", "/frameworks/soc2/coverage?folder_id=nope", ""},
		{"PUT", "/requirement-assessments/" + ra, `{"folder_id":"nope","requirement_id":"soc2:cc_6_1","result":"compliant"}`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			expect(t, f.do(tc.method, tc.path, tc.body), http.StatusNotFound, "not_found", "folder nope not found")
		})
	}
	if _, err := f.store.GetFolder(context.Background(), "nope"); !citadel.IsNotFound(err) {
		t.Errorf("the unknown folder was created: %v", err)
	}
	if page, err := f.store.ListIntegrations(context.Background(), "nope", 10, ""); err != nil || len(page.Items) != 0 {
		t.Errorf("integrations stored in the unknown folder: %+v, %v", page.Items, err)
	}
	// Once created, the same folder answers.
	expect(t, f.do("POST", "/folders", `{"id":"nope","name":"Nope"}`), http.StatusCreated, "", "")
	if body := f.do("GET", "/integrations?folder_id=nope", "").Body.String(); !strings.Contains(body, `"items":[]`) {
		t.Errorf("a created folder's integrations: %s", body)
	}
}

// TestDefaultFolderIsCreatedOnFirstUse: the deployment's default folder
// needs no POST /folders: the first request that uses it creates it (named
// after its id), once, however many requests come at once.
func TestDefaultFolderIsCreatedOnFirstUse(t *testing.T) {
	ctx := context.Background()
	for _, first := range []struct{ method, path string }{
		{"GET", "/integrations"},
		{"GET", "/integrations?folder_id=" + testFolder},
		{"GET", "/controls"},
		{"GET", "/evidence"},
		{"GET", "/folders/" + testFolder},
		{"GET", "/folders"},
	} {
		t.Run(first.method+" "+first.path, func(t *testing.T) {
			f := newFixture(t)
			if _, err := f.store.GetFolder(ctx, testFolder); !citadel.IsNotFound(err) {
				t.Fatalf("the default folder exists before any request: %v", err)
			}
			expect(t, f.do(first.method, first.path, ""), http.StatusOK, "", "")
			got, err := f.store.GetFolder(ctx, testFolder)
			if d := cmp.Diff(citadel.Folder{ID: testFolder, Name: testFolder, CreatedAt: t0}, got); err != nil || d != "" {
				t.Errorf("default folder (-want +got):\n%s%v", d, err)
			}
		})
	}

	// Many first uses at once all answer, and leave one folder.
	f := newFixture(t, func(d *Deps) { d.Clock = citadel.SystemClock })
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() { codes[i] = f.do("GET", "/integrations", "").Code })
	}
	wg.Wait()
	if d := cmp.Diff([]int{200, 200, 200, 200, 200, 200, 200, 200}, codes); d != "" {
		t.Errorf("concurrent first uses (-want +got):\n%s", d)
	}
	page := decodeBody[citadel.Page[citadel.Folder]](t, f.do("GET", "/folders", ""))
	if d := cmp.Diff([]string{testFolder}, idsOf(page.Items), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("folders after concurrent first uses (-want +got):\n%s", d)
	}
	// Renaming it keeps it the default.
	expect(t, f.do("PATCH", "/folders/"+testFolder, `{"name":"Everyone"}`), http.StatusOK, "", "")
	expect(t, f.do("GET", "/integrations", ""), http.StatusOK, "", "")
}

func idsOf(fs []citadel.Folder) []string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	return ids
}

// TestNoDefaultFolderSaysHowToMakeOne: without a default folder, a request
// that names none is a 400 that says how to make one; the folder routes work.
func TestNoDefaultFolderSaysHowToMakeOne(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.DefaultFolder = "" })
	for _, path := range []string{"/integrations", "/controls", "/evidence", "/frameworks/soc2/coverage"} {
		rec := f.do("GET", path, "")
		for _, says := range []string{"folder_id is required", "POST /folders", "citadel folders create", "defaultFolder", "docs/infra.md"} {
			expect(t, rec, http.StatusBadRequest, "invalid", says)
		}
	}
	if body := f.do("GET", "/folders", "").Body.String(); !strings.Contains(body, `"items":[]`) {
		t.Errorf("GET /folders without a default: %s", body)
	}
	expect(t, f.do("GET", "/folders/"+testFolder, ""), http.StatusNotFound, "not_found", "folder "+testFolder+" not found")
}

// New refuses a missing Folders and a default folder that is not an id;
// the document bounds a name as the domain does.
func TestFolderWiring(t *testing.T) {
	d := offlineDeps()
	d.Folders = nil
	if _, err := New(context.Background(), d); err == nil || !strings.Contains(err.Error(), "Folders") {
		t.Errorf("New without Folders: %v", err)
	}
	d = offlineDeps()
	d.DefaultFolder = "my folder"
	if _, err := New(context.Background(), d); err == nil || !strings.Contains(err.Error(), `default folder "my folder"`) {
		t.Errorf("New with a bad default folder: %v", err)
	}
	doc, err := LoadSpec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	name := doc.Components.Schemas["FolderName"].Value
	if name.MaxLength == nil || *name.MaxLength != citadel.MaxFolderName || name.MinLength != 1 {
		t.Errorf("openapi.yaml FolderName: length %d-%v, citadel.MaxFolderName is %d", name.MinLength, name.MaxLength, citadel.MaxFolderName)
	}
	if got := doc.Components.Schemas["FolderCreate"].Value.Properties["id"].Value.Pattern; got != citadel.PatternID {
		t.Errorf("FolderCreate.id pattern %q, want %q", got, citadel.PatternID)
	}
}
