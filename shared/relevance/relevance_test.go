package relevance

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScore(t *testing.T) {
	idx, err := New([]Field{{Name: "name", Boost: 2}, {Name: "text"}}, []Doc{
		{ID: "rest", Fields: map[string]string{"name": "Encrypting Data At Rest", "text": "stored data is encrypted"}},
		{ID: "transit", Fields: map[string]string{"name": "Transmission Confidentiality", "text": "data in transit is encrypted"}},
		{ID: "backup", Fields: map[string]string{"name": "Data Backups", "text": "copies of data are kept"}},
		{ID: "empty", Fields: map[string]string{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	for _, tc := range []struct {
		name  string
		parts []Part
		want  []string // ids by score, best first
	}{
		{"stemmed words match", []Part{{Text: "volumes encrypting at rest"}}, []string{"rest", "transit"}},
		{"stop words alone match nothing", []Part{{Text: "the of and is"}}, nil},
		{"no text", nil, nil},
		{"a rare word outranks a common one", []Part{{Text: "transmission data"}}, []string{"transit", "backup", "rest"}},
		{"a part's boost wins over a weaker part", []Part{{Text: "backups", Boost: 5}, {Text: "transit"}}, []string{"backup", "transit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := idx.Score(tc.parts...)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i, h := range got {
				if h.Score <= 0 || (i > 0 && h.Score > got[i-1].Score) {
					t.Errorf("hit %d %s scored %v, want > 0 and not above the hit before", i, h.ID, h.Score)
				}
				ids = append(ids, h.ID)
			}
			if d := cmp.Diff(tc.want, ids); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestFieldBoost(t *testing.T) {
	// The same word in a boosted field scores higher than in a plain one.
	idx, err := New([]Field{{Name: "name", Boost: 3}, {Name: "text"}}, []Doc{
		{ID: "in-name", Fields: map[string]string{"name": "logging", "text": "alpha beta"}},
		{ID: "in-text", Fields: map[string]string{"name": "alpha beta", "text": "logging"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	got, err := idx.Score(Part{Text: "logging"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "in-name" || !(got[0].Score > got[1].Score && got[1].Score > 0) {
		t.Errorf("hits %v: want in-name > in-text > 0", got)
	}
}
