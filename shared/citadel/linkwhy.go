package citadel

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// LinkProwler is the origin of a check → control link that no SCF link
// explains: the control is one of a requirement (stage B of the controls
// step), and Prowler's own compliance mapping puts the check under it.
const LinkProwler LinkOrigin = "prowler"

// maxWhyRequirements bounds the requirements a LinkWhy's summary names.
const maxWhyRequirements = 5

// LinkWhy says why a scan linked a check to a control: the effective check →
// SCF link it followed (imported from the catalog, with its frameworks,
// requirements, text relevance, score and rank, or added by a user's correction,
// with who, when and why), or, for a control of a requirement, Prowler's
// mapping of the check to that requirement. Summary is the same in one line.
// The controls step records it on each check link (ControlLink.Why) and
// rewrites the link when it changes.
type LinkWhy struct {
	Origin       LinkOrigin `json:"origin"`
	Rank         int        `json:"rank,omitempty"`
	Score        float64    `json:"score,omitempty"`
	Relevance    float64    `json:"relevance,omitempty"`
	Frameworks   []string   `json:"frameworks,omitempty"`
	Requirements []string   `json:"requirements,omitempty"`
	By           string     `json:"by,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	At           time.Time  `json:"at,omitzero"`
	Summary      string     `json:"summary"`
}

// WhyOfLink is the why of a check → control link that follows the
// effective link l (the control is l's SCF control).
func WhyOfLink(l EffectiveLink) LinkWhy {
	w := LinkWhy{Origin: l.Origin, Rank: l.Rank, Score: l.Score, Relevance: l.Relevance,
		Frameworks: nonEmpty(l.Frameworks), Requirements: nonEmpty(l.Requirements)}
	if w.Origin == "" {
		w.Origin = LinkImported
	}
	if c := l.Correction; c != nil && w.Origin == LinkManual {
		w.By, w.Reason, w.At = c.By, c.Reason, c.At.UTC()
	}
	w.Summary = w.summary()
	return w
}

// WhyOfRequirement is the why of a check → control link where the control
// is requirement requirementID's and Prowler maps the check to it.
func WhyOfRequirement(requirementID string) LinkWhy {
	w := LinkWhy{Origin: LinkProwler, Requirements: []string{requirementID}}
	w.Summary = w.summary()
	return w
}

// Equal reports whether two whys say the same.
func (w LinkWhy) Equal(o LinkWhy) bool {
	return w.Origin == o.Origin && w.Rank == o.Rank && w.Score == o.Score && w.Relevance == o.Relevance &&
		slices.Equal(w.Frameworks, o.Frameworks) && slices.Equal(w.Requirements, o.Requirements) &&
		w.By == o.By && w.Reason == o.Reason && w.At.Equal(o.At) && w.Summary == o.Summary
}

// Validate checks a why: a known origin, who and why for a manual one, the
// requirement for a prowler one, and a summary.
func (w LinkWhy) Validate() error {
	var errs fieldErrors
	errs.add(w.Origin != LinkImported && w.Origin != LinkManual && w.Origin != LinkProwler,
		fmt.Sprintf("origin %q is not imported, manual or prowler", w.Origin))
	errs.add(w.Origin == LinkManual && (w.By == "" || strings.TrimSpace(w.Reason) == ""), "a manual link needs by and reason")
	errs.add(w.Origin == LinkProwler && len(w.Requirements) == 0, "a prowler link needs its requirement")
	errs.add(w.Summary == "", "summary is required")
	return errs.err("why")
}

// summary renders the why in one line:
//
//	imported, rank 2: frameworks soc2, iso27001_2022; requirements soc2:cc_6_1; relevance 0.92; score 1.83
//	imported, rank 3: no framework path; relevance 0.40; score 0.31
//	manual, rank 1: by alice on 2026-11-29: reason (frameworks soc2; ...)
//	prowler: the check maps to requirement cis_3.0:1.14
func (w LinkWhy) summary() string {
	var b strings.Builder
	b.WriteString(string(w.Origin))
	if w.Rank > 0 {
		fmt.Fprintf(&b, ", rank %d", w.Rank)
	}
	b.WriteString(": ")
	join := func() string {
		rel := ""
		if w.Relevance > 0 { // links imported before the text ranking have none
			rel = fmt.Sprintf("relevance %.2f; ", w.Relevance)
		}
		if len(w.Frameworks) == 0 && len(w.Requirements) == 0 {
			return fmt.Sprintf("no framework path; %sscore %.2f", rel, w.Score)
		}
		return fmt.Sprintf("frameworks %s; requirements %s; %sscore %.2f",
			shortList(w.Frameworks, maxWhyRequirements), shortList(w.Requirements, maxWhyRequirements), rel, w.Score)
	}
	switch w.Origin {
	case LinkManual:
		b.WriteString("by " + w.By)
		if !w.At.IsZero() {
			b.WriteString(" on " + w.At.UTC().Format(time.DateOnly))
		}
		b.WriteString(": " + w.Reason)
		if len(w.Frameworks) > 0 {
			b.WriteString(" (also imported: " + join() + ")")
		}
	case LinkProwler:
		b.WriteString("the check maps to requirement " + shortList(w.Requirements, maxWhyRequirements))
	default:
		b.WriteString(join())
	}
	return b.String()
}

// shortList joins at most n items, then says how many more there are
// ("none" for no item).
func shortList(s []string, n int) string {
	switch {
	case len(s) == 0:
		return "none"
	case len(s) <= n:
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(s[:n], ", "), len(s)-n)
}

func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
