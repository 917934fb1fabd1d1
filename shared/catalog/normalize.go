package catalog

import (
	"strings"
	"unicode"
)

// NormalizeRef brings the many spellings of one requirement id to one form,
// so Prowler's ids and the SCF mapping files' ids join: lower case, a dot
// between every run of letters and every run of digits, every other
// separator a dot, leading zeros dropped.
//
//	cc_6_1, CC6.1      → cc.6.1
//	A.5.15, a.5.15     → a.5.15
//	GV.OC-1, gv.oc-01  → gv.oc.1
func NormalizeRef(s string) string {
	var parts []string
	var cur []rune
	kind := 0 // 1 letter, 2 digit
	flush := func() {
		if len(cur) == 0 {
			return
		}
		tok := string(cur)
		if kind == 2 {
			tok = strings.TrimLeft(tok, "0")
			if tok == "" {
				tok = "0"
			}
		}
		parts = append(parts, tok)
		cur, kind = cur[:0], 0
	}
	for _, r := range strings.ToLower(s) {
		k := 0
		switch {
		case unicode.IsLetter(r):
			k = 1
		case unicode.IsDigit(r):
			k = 2
		}
		if k == 0 || k != kind {
			flush()
		}
		if k != 0 {
			cur, kind = append(cur, r), k
		}
	}
	flush()
	return strings.Join(parts, ".")
}

// looksLikeRef reports whether a token could be a requirement id: short,
// holding a digit, no spaces.
func looksLikeRef(s string) bool {
	return s != "" && len(s) <= 24 && !strings.ContainsAny(s, " \t") && strings.IndexFunc(s, unicode.IsDigit) >= 0
}

// joinCandidates lists, best first, the normalised spellings of a Prowler
// requirement that may appear in an SCF mapping file:
//
//   - the section it is a sub-item of, when its Section attribute starts with
//     an id ("1.2.5: Network security controls ...") that prefixes its own
//     id (1.2.5.3): Prowler splits some requirements into one item per
//     check, the mapping files know the requirement;
//   - its own id (cc_6_1, A.5.15);
//   - the first word of its name (GV.OC-1, A1.2), which several files use
//     for the official id while the Id is Prowler's own spelling;
//   - the ItemId / Objetive_ID attribute.
func joinCandidates(id, name string, attrs map[string]any) []string {
	var out []string
	add := func(s string) {
		if !looksLikeRef(s) {
			return
		}
		n := NormalizeRef(s)
		for _, o := range out {
			if o == n {
				return
			}
		}
		out = append(out, n)
	}
	if sec, ok := attrs["Section"].(string); ok {
		if head, _, found := strings.Cut(sec, ":"); found {
			head = strings.TrimSpace(head)
			nid, nh := NormalizeRef(id), NormalizeRef(head)
			if looksLikeRef(head) && strings.HasPrefix(nid, nh+".") {
				add(head)
			}
		}
	}
	add(id)
	if f := strings.Fields(name); len(f) > 0 {
		add(strings.TrimRight(f[0], ":"))
	}
	for _, k := range []string{"ItemId", "Objetive_ID", "Objective_ID"} {
		if v, ok := attrs[k].(string); ok {
			add(v)
		}
	}
	return out
}
