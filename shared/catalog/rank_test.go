package catalog

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/relevance"
)

func TestRankCheck(t *testing.T) {
	join := func(scf string, score float64) citadel.CheckSCFLink {
		return citadel.CheckSCFLink{CheckID: "c", SCFID: scf, Score: score, Frameworks: []string{"soc2"}, Requirements: []string{"soc2:cc_6_1"}}
	}
	type got struct {
		SCF        string
		Frameworks bool
	}
	for _, tc := range []struct {
		name  string
		rel   map[string]float64
		cands []citadel.CheckSCFLink
		opt   LinkOptions
		want  []got
	}{
		{
			name: "no text match: no link, whatever the join offers",
			rel:  map[string]float64{}, cands: []citadel.CheckSCFLink{join("CRY-05", 3)},
			want: nil,
		},
		{
			name:  "an off-topic join candidate falls away however strong its support",
			rel:   map[string]float64{"CRY-05": 10, "END-01": 1},
			cands: []citadel.CheckSCFLink{join("END-01", 5), join("CRY-05", 0.5)},
			want:  []got{{"CRY-05", true}},
		},
		{
			name:  "a programme control ranks under the precise one it governs",
			rel:   map[string]float64{"CRY-01": 10, "CRY-05": 9},
			cands: []citadel.CheckSCFLink{join("CRY-01", 2), join("CRY-05", 2)},
			want:  []got{{"CRY-05", true}},
		},
		{
			name:  "the best text match joins the candidates when no framework offers it",
			rel:   map[string]float64{"IAC-20": 10, "NET-04": 4},
			cands: []citadel.CheckSCFLink{join("NET-04", 0.2)},
			want:  []got{{"IAC-20", false}, {"NET-04", true}},
		},
		{
			name: "a weaker text-only match does not join",
			rel:  map[string]float64{"IAC-20": 10, "IAC-21": 7},
			want: []got{{"IAC-20", false}},
		},
		{
			name:  "frameworks that agree lift a candidate over a better text match",
			rel:   map[string]float64{"MON-03": 10, "MON-08": 8},
			cands: []citadel.CheckSCFLink{join("MON-08", 2.5), join("MON-03", 0.4)},
			want:  []got{{"MON-08", true}, {"MON-03", true}},
		},
		{
			name:  "a provider-side (physical) control never, however close its words",
			rel:   map[string]float64{"PES-02.1": 10, "IAC-08": 9},
			cands: []citadel.CheckSCFLink{join("PES-02.1", 2), join("IAC-08", 1)},
			want:  []got{{"IAC-08", true}},
		},
		{
			name:  "at most MaxPerCheck",
			rel:   map[string]float64{"A-02": 10, "B-02": 10, "C-02": 10},
			cands: []citadel.CheckSCFLink{join("A-02", 1), join("B-02", 1), join("C-02", 1)},
			opt:   LinkOptions{MaxPerCheck: 2},
			want:  []got{{"A-02", true}, {"B-02", true}},
		},
		{
			name: "MinScore: too little evidence keeps no link",
			rel:  map[string]float64{"A-02": 10},
			opt:  LinkOptions{MinScore: 1.5},
			want: nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits []relevance.Hit
			for id, s := range tc.rel {
				hits = append(hits, relevance.Hit{ID: id, Score: s})
			}
			sort.Slice(hits, func(i, j int) bool {
				if hits[i].Score != hits[j].Score {
					return hits[i].Score > hits[j].Score
				}
				return hits[i].ID < hits[j].ID
			})
			links := rankCheck("c", hits, tc.cands, tc.opt.withDefaults())
			var g []got
			for i, l := range links {
				if l.Rank != i+1 || l.CheckID != "c" {
					t.Errorf("link %d: rank %d check %q", i, l.Rank, l.CheckID)
				}
				if l.Relevance <= 0 || l.Relevance > 1 {
					t.Errorf("%s: relevance %v, want in (0, 1]", l.SCFID, l.Relevance)
				}
				if i > 0 && l.Score > links[i-1].Score {
					t.Errorf("%s scores %v over the link before it", l.SCFID, l.Score)
				}
				g = append(g, got{l.SCFID, len(l.Frameworks) > 0})
			}
			if d := cmp.Diff(tc.want, g); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestIsProgrammeControl(t *testing.T) {
	for id, want := range map[string]bool{"CRY-01": true, "MON-01": true, "CRY-01.1": false, "CRY-05": false, "IAC-10": false, "X": false} {
		if got := IsProgrammeControl(id); got != want {
			t.Errorf("IsProgrammeControl(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestVocabularyExpand(t *testing.T) {
	v, err := ParseVocabulary("v.yaml", []byte(`rules:
- {when: [tls, "in transit"], add: [transmission, cryptographic]}
- {when: [encrypted], unless: [tls, transit], add: [rest]}
- {when: [public], with: [bucket, queue], add: [access, enforcement]}
- {when: [public], with: [cluster], add: [boundary]}
- {when: [cryptographic, kms], add: [cryptographic, key]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"rds_instance_transport_encrypted Data in-transit uses TLS", []string{"transmission", "cryptographic"}},
		{"ebs volume is encrypted", []string{"rest"}},
		{"s3_bucket_public_access", []string{"access", "enforcement"}},
		{"EKS cluster is public", []string{"boundary"}},
		{"public", nil},
		{"Uses KMS and TLS", []string{"transmission", "cryptographic", "key"}},
		{"intransit tlsv1", nil},
	} {
		if d := cmp.Diff(tc.want, v.Expand(tc.text)); d != "" {
			t.Errorf("Expand(%q) (-want +got):\n%s", tc.text, d)
		}
	}
}

func TestParseVocabularyRejectsBadInput(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"broken YAML", "rules: [", "v.yaml: invalid YAML"},
		{"unknown field", "rules:\n- {when: [a], add: [b], also: [c]}", "field also not found"},
		{"no add", "rules:\n- {when: [a]}", "rule 1: want when and add words"},
		{"no when", "rules:\n- {when: [a], add: [b]}\n- {add: [b]}", "rule 2: want when and add words"},
		{"a when of punctuation only", "rules:\n- {when: [\"*:*\"], add: [b]}", `rule 1: when "*:*" has no word`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseVocabulary("v.yaml", []byte(tc.yaml))
			if !citadel.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an invalid error containing %q", err, tc.want)
			}
		})
	}
}

// The embedded vocabulary parses, and its added words are single words: a
// word list of our own, never a sentence of a control's statement.
func TestDefaultVocabulary(t *testing.T) {
	v, err := DefaultVocabulary()
	if err != nil {
		t.Fatal(err)
	}
	if len(v) < 20 {
		t.Errorf("%d rules", len(v))
	}
	for i, r := range v {
		for _, a := range r.Add {
			if strings.ContainsAny(a, " \t") || a != strings.ToLower(a) {
				t.Errorf("rule %d: add %q is not one lower-case word", i+1, a)
			}
		}
	}
}
