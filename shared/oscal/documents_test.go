package oscal

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/citadelsecure/citadel/shared/export"
	"github.com/google/go-cmp/cmp"
)

type document struct {
	name string
	make func(export.Dataset) ([]byte, error)
}

var documents = []document{
	{"assessment-results", AssessmentResults},
	{"poam", func(ds export.Dataset) ([]byte, error) { return POAM(ds, POAMOptions{Owner: "platform-team"}) }},
}

// TestDocumentsAreValidAndGolden: the fixture's and the empty dataset's
// documents validate against NIST's schema and match the golden files.
func TestDocumentsAreValidAndGolden(t *testing.T) {
	datasets := []struct {
		name string
		ds   export.Dataset
	}{
		{"fixture", fixture()},
		{"empty", emptyDataset()},
	}
	for _, d := range datasets {
		for _, doc := range documents {
			t.Run(d.name+"/"+doc.name, func(t *testing.T) {
				got, err := doc.make(d.ds)
				if err != nil {
					t.Fatal(err)
				}
				if err := validate(t, got); err != nil {
					t.Fatalf("not valid OSCAL 1.2.2:\n%v", err)
				}
				golden(t, d.name+"."+doc.name+".json", got)
			})
		}
	}
}

// TestDeterministic: the same dataset twice, or with its lists in any
// order, gives the same bytes.
func TestDeterministic(t *testing.T) {
	for _, doc := range documents {
		t.Run(doc.name, func(t *testing.T) {
			first, err := doc.make(fixture())
			if err != nil {
				t.Fatal(err)
			}
			again, err := doc.make(fixture())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, again) {
				t.Fatalf("the same dataset gave different documents:\n%s", cmp.Diff(string(first), string(again)))
			}
			r := rand.New(rand.NewPCG(1, 2))
			for i := range 20 {
				got, err := doc.make(shuffled(fixture(), r))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(first, got) {
					t.Fatalf("shuffle %d gave a different document:\n%s", i, cmp.Diff(string(first), string(got)))
				}
			}
		})
	}
}

// TestDatasetNotChanged: making the documents leaves the caller's dataset
// as it was (it sorts copies).
func TestDatasetNotChanged(t *testing.T) {
	ds := shuffled(fixture(), rand.New(rand.NewPCG(3, 4)))
	before, _ := json.Marshal(ds)
	for _, doc := range documents {
		if _, err := doc.make(ds); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := json.Marshal(ds)
	if !bytes.Equal(before, after) {
		t.Fatal("making the documents changed the dataset")
	}
}

// TestValidatorIsLive: documents broken in ways the schema forbids fail
// validation, so a passing validation means something.
func TestValidatorIsLive(t *testing.T) {
	ar, err := AssessmentResults(fixture())
	if err != nil {
		t.Fatal(err)
	}
	poam, err := POAM(fixture(), POAMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		doc    []byte
		break_ func(doc map[string]any)
		want   string // in the validation error
	}{
		{"results without metadata title", ar, func(d map[string]any) {
			delete(root(d, "assessment-results")["metadata"].(map[string]any), "title")
		}, "title"},
		{"results without import-ap", ar, func(d map[string]any) { delete(root(d, "assessment-results"), "import-ap") }, "import-ap"},
		{"observation without methods", ar, func(d map[string]any) {
			delete(first(root(d, "assessment-results"), "results", "observations"), "methods")
		}, "methods"},
		{"finding with an unknown objective state", ar, func(d map[string]any) {
			f := first(root(d, "assessment-results"), "results", "findings")
			f["target"].(map[string]any)["status"].(map[string]any)["state"] = "mostly-fine"
		}, "state"},
		{"a uuid that is not one", ar, func(d map[string]any) { root(d, "assessment-results")["uuid"] = "not-a-uuid" }, "uuid"},
		{"a last-modified without a time zone", ar, func(d map[string]any) {
			root(d, "assessment-results")["metadata"].(map[string]any)["last-modified"] = "2025-03-03T09:30:00"
		}, "last-modified"},
		{"poam without poam-items", poam, func(d map[string]any) { delete(root(d, "plan-of-action-and-milestones"), "poam-items") }, "poam-items"},
		{"risk status that is no token", poam, func(d map[string]any) {
			root(d, "plan-of-action-and-milestones")["risks"].([]any)[0].(map[string]any)["status"] = "risk accepted"
		}, "status"},
		{"an unknown property", poam, func(d map[string]any) { root(d, "plan-of-action-and-milestones")["owner"] = "x" }, "owner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := validate(t, tc.doc); err != nil {
				t.Fatalf("the unbroken document is not valid: %v", err)
			}
			var d map[string]any
			if err := json.Unmarshal(tc.doc, &d); err != nil {
				t.Fatal(err)
			}
			tc.break_(d)
			broken, _ := json.Marshal(d)
			err := validate(t, broken)
			if err == nil {
				t.Fatal("the broken document validated")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the validation error does not name %q:\n%v", tc.want, err)
			}
		})
	}
}

func root(d map[string]any, name string) map[string]any { return d[name].(map[string]any) }

// first is the first item of the list at path (each step a list of
// objects, its first taken).
func first(d map[string]any, path ...string) map[string]any {
	cur := d
	for _, p := range path {
		cur = cur[p].([]any)[0].(map[string]any)
	}
	return cur
}
