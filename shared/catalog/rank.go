package catalog

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/relevance"
)

// LinkOptions tune Rank.
type LinkOptions struct {
	MaxPerCheck int     // links kept per check (default DefaultMaxLinks)
	MinShare    float64 // drop links under this share of the check's best (default 0.6)
	// TextWeight and JoinWeight weigh a candidate's text relevance and its
	// framework-join support, each normalised to 0..1 within the check.
	TextWeight, JoinWeight float64
	// TextCandidates: the best-matching controls by text alone that join
	// the framework candidates (default 5).
	TextCandidates int
	// ProgrammeFactor multiplies the score of a domain's programme control
	// (its -01, e.g. CRY-01, MON-01), which states a whole domain rather
	// than a safeguard (default 0.5).
	ProgrammeFactor float64
	// MinText: a link whose text relevance is under this share of the
	// check's best is dropped however strong its join support
	// (default 0.3): off-topic candidates fall away.
	MinText float64
	// TextOnlyMin: a control no framework supports is kept only when its
	// relevance is at least this share of the check's best (default 0.8).
	TextOnlyMin float64
	// TitleBoost and ExpandBoost weigh the check's id and title and the
	// vocabulary's words against its description (default 3 and 2).
	TitleBoost, ExpandBoost float64
	// JoinScale is the join score at which support reaches 63% of full
	// (support = 1 - e^(-score/JoinScale)): one framework's broad path
	// counts a little, several frameworks agreeing nearly fully (default 1).
	JoinScale float64
	// MinScore: a check whose best link scores under this keeps no link
	// (default 0: keep); with too little evidence none is better than a
	// wrong one, and scans fall back to the check's requirements.
	MinScore float64
}

func (o LinkOptions) withDefaults() LinkOptions {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if o.MaxPerCheck <= 0 {
		o.MaxPerCheck = DefaultMaxLinks
	}
	if o.TextCandidates <= 0 {
		o.TextCandidates = 5
	}
	def(&o.MinShare, 0.6)
	def(&o.TextWeight, 1)
	def(&o.JoinWeight, 2)
	def(&o.ProgrammeFactor, 0.5)
	def(&o.MinText, 0.3)
	def(&o.TextOnlyMin, 0.8)
	def(&o.TitleBoost, 1)
	def(&o.ExpandBoost, 4)
	def(&o.JoinScale, 1)
	return o
}

// ProviderDomains are the SCF domains a check of a cloud account never
// validates: physical and environmental protection is the cloud provider's
// side of the shared-responsibility model, whatever words a check shares
// with it ("role-based physical access").
var ProviderDomains = []string{"PES"}

// IsProviderControl reports whether an SCF id is in a ProviderDomains domain.
func IsProviderControl(id string) bool {
	dom, _, _ := strings.Cut(id, "-")
	return slices.Contains(ProviderDomains, dom)
}

// IsProgrammeControl reports whether an SCF id is its domain's programme
// control: SCF numbers each domain's governing control 01 (CRY-01 "Use of
// Cryptographic Controls", MON-01, IAC-01 ...), the umbrella every other
// control of the domain implements.
func IsProgrammeControl(id string) bool {
	_, n, ok := strings.Cut(id, "-")
	return ok && n == "01"
}

// Ranker ranks check → SCF links (see Rank); it holds the BM25 index of
// the SCF controls.
type Ranker struct {
	idx   *relevance.Index
	vocab Vocabulary
}

// NewRanker indexes the SCF controls (name, statement, domain) for ranking,
// with vocab to expand checks' queries (nil: DefaultVocabulary).
func NewRanker(controls []citadel.SCFControl, vocab Vocabulary) (*Ranker, error) {
	if vocab == nil {
		v, err := DefaultVocabulary()
		if err != nil {
			return nil, err
		}
		vocab = v
	}
	docs := make([]relevance.Doc, len(controls))
	for i, c := range controls {
		docs[i] = relevance.Doc{ID: c.ID, Fields: map[string]string{"name": c.Title, "text": c.Description, "domain": c.Domain}}
	}
	idx, err := relevance.New([]relevance.Field{{Name: "name", Boost: 2}, {Name: "text"}, {Name: "domain", Boost: 0.5}}, docs)
	if err != nil {
		return nil, fmt.Errorf("rank links: %w", err)
	}
	return &Ranker{idx: idx, vocab: vocab}, nil
}

// Close releases the index.
func (r *Ranker) Close() error { return r.idx.Close() }

// query is what a check is about, as the ranker asks it: its id and title
// first, the control-statement words its cloud words stand for
// (Vocabulary), then its description, remediation, resource type and
// categories.
func (r *Ranker) query(c citadel.SecurityCheck, opt LinkOptions) []relevance.Part {
	// Prowler's deprecation marker says nothing of what the check verifies.
	title := strings.TrimSpace(strings.TrimPrefix(c.Title, deprecatedPrefix))
	head := strings.ReplaceAll(c.ID, "_", " ") + " " + title
	cats := strings.Join(c.Categories, " ")
	return []relevance.Part{
		{Text: head, Boost: opt.TitleBoost},
		{Text: strings.Join(r.vocab.Expand(head+" "+cats), " "), Boost: opt.ExpandBoost},
		{Text: strings.Join([]string{c.Description, c.Remediation.Text, strings.ReplaceAll(c.ResourceType, "Aws", " "), cats}, " ")},
	}
}

// Rank orders each check's SCF links by what the check is about: its join
// candidates (every SCF control some framework path reaches, scored by
// Links) plus the controls its own metadata matches best, scored by BM25
// relevance of the check's query (Ranker.query) against each control's
// name, statement and domain (shared/relevance), combined with the join
// support. Programme controls count less, off-topic candidates fall away,
// and each check keeps at most MaxPerCheck links.
func Rank(checks []citadel.SecurityCheck, controls []citadel.SCFControl, candidates []citadel.CheckSCFLink, opt LinkOptions) ([]citadel.CheckSCFLink, error) {
	r, err := NewRanker(controls, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Rank(checks, candidates, opt)
}

// Rank is Rank with this ranker's index.
func (r *Ranker) Rank(checks []citadel.SecurityCheck, candidates []citadel.CheckSCFLink, opt LinkOptions) ([]citadel.CheckSCFLink, error) {
	opt = opt.withDefaults()
	byCheck := map[string][]citadel.CheckSCFLink{}
	for _, l := range candidates {
		byCheck[l.CheckID] = append(byCheck[l.CheckID], l)
	}
	var out []citadel.CheckSCFLink
	for _, c := range checks {
		q := r.query(c, opt)
		hits, err := r.idx.Score(q...)
		if err != nil {
			return nil, fmt.Errorf("rank links of %s: %w", c.ID, err)
		}
		o := opt
		if q[1].Text == "" {
			// None of the check's words is one the vocabulary knows: its
			// text says too little to add a control no framework offers.
			o.TextCandidates = -1
		}
		out = append(out, rankCheck(c.ID, hits, byCheck[c.ID], o)...)
	}
	return out, nil
}

// rankCheck ranks one check's links from its text hits (best first) and
// its join candidates.
func rankCheck(check string, hits []relevance.Hit, cands []citadel.CheckSCFLink, opt LinkOptions) []citadel.CheckSCFLink {
	if len(hits) == 0 || hits[0].Score <= 0 {
		return nil
	}
	bestRel := hits[0].Score
	rel := make(map[string]float64, len(hits))
	for _, h := range hits {
		rel[h.ID] = h.Score
	}
	pool := make(map[string]citadel.CheckSCFLink, len(cands)+opt.TextCandidates)
	for _, l := range cands {
		pool[l.SCFID] = l
	}
	for i, h := range hits {
		if i >= opt.TextCandidates { // negative: none
			break
		}
		if _, ok := pool[h.ID]; !ok && h.Score >= opt.TextOnlyMin*bestRel {
			pool[h.ID] = citadel.CheckSCFLink{CheckID: check, SCFID: h.ID}
		}
	}
	type scored struct {
		l     citadel.CheckSCFLink
		score float64
	}
	var ss []scored
	for id, l := range pool {
		if IsProviderControl(id) {
			continue
		}
		t := rel[id] / bestRel
		if t < opt.MinText {
			continue
		}
		j := 1 - math.Exp(-l.Score/opt.JoinScale)
		s := opt.TextWeight*t + opt.JoinWeight*j
		if IsProgrammeControl(id) {
			s *= opt.ProgrammeFactor
		}
		ss = append(ss, scored{l, s})
	}
	sort.Slice(ss, func(i, j int) bool {
		if ss[i].score != ss[j].score {
			return ss[i].score > ss[j].score
		}
		return ss[i].l.SCFID < ss[j].l.SCFID
	})
	if len(ss) == 0 || ss[0].score < opt.MinScore {
		return nil
	}
	var out []citadel.CheckSCFLink
	for i, s := range ss {
		if i >= opt.MaxPerCheck || s.score < opt.MinShare*ss[0].score {
			break
		}
		l := s.l
		l.Rank = i + 1
		l.Support = l.Score
		l.Relevance = math.Round(rel[l.SCFID]/bestRel*1e4) / 1e4
		l.Score = math.Round(s.score*1e4) / 1e4
		out = append(out, l)
	}
	return out
}
