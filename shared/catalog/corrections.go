package catalog

// The corrections file: users' corrections of the check → SCF links, kept
// in a YAML file (under version control, reviewed like code) that the catalog
// import reads with the catalog files and writes apart from the imported
// links. docs/catalog.md, "Link corrections", describes the format.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// correctionsDoc is a corrections file. Corrections is a pointer so a file
// without the key is told apart from an empty list.
type correctionsDoc struct {
	Corrections *[]correctionEntry `yaml:"corrections"`
}

// correctionEntry is one correction as written in the file.
type correctionEntry struct {
	Check  string `yaml:"check"`
	SCF    string `yaml:"scf"`
	Action string `yaml:"action"`
	Reason string `yaml:"reason"`
	By     string `yaml:"by"`
	// At is optional: an RFC 3339 time or a date (midnight UTC); the
	// import's time when absent.
	At string `yaml:"at"`
}

const correctionFields = "check, scf, action, reason, by, at"

// maxCorrectionErrors bounds the problems one error lists.
const maxCorrectionErrors = 20

// ParseCorrections parses and validates a corrections file named name (for
// errors). at is the time of corrections that give none (the import's
// clock); an `at` after it is refused, since the latest correction of a
// pair wins and a future one would beat every later correction. Every
// problem is reported, each as NAME:LINE: ..., in one invalid error; the
// corrections come in file order.
func ParseCorrections(name string, b []byte, at time.Time) ([]citadel.LinkCorrection, error) {
	return parseCorrections(name, b, at, nil)
}

// CheckCorrections is ParseCorrections that also checks every correction
// against the catalog being imported: its check must be one of the Prowler
// checks and its SCF control one of the SCF library's (so the catalog must
// have one).
func CheckCorrections(name string, b []byte, at time.Time, cat *Catalog) ([]citadel.LinkCorrection, error) {
	if cat == nil || cat.SCF == nil {
		return nil, citadel.Invalid("%s: link corrections need the SCF library (no SCF source given or no scf-<version>.yaml in it)", name)
	}
	return parseCorrections(name, b, at, cat)
}

type correctionsErrors struct {
	name string
	msgs []string
	more int
}

func (e *correctionsErrors) add(line int, format string, args ...any) {
	if len(e.msgs) == maxCorrectionErrors {
		e.more++
		return
	}
	where := e.name
	if line > 0 {
		where += ":" + strconv.Itoa(line)
	}
	e.msgs = append(e.msgs, where+": "+fmt.Sprintf(format, args...))
}

func (e *correctionsErrors) err() error {
	if len(e.msgs) == 0 {
		return nil
	}
	msg := strings.Join(e.msgs, "; ")
	if e.more > 0 {
		msg += fmt.Sprintf("; and %d more", e.more)
	}
	return &citadel.Error{Code: citadel.CodeInvalid, Msg: msg}
}

func parseCorrections(name string, b []byte, at time.Time, cat *Catalog) ([]citadel.LinkCorrection, error) {
	errs := &correctionsErrors{name: name}
	seq, err := correctionNodes(name, b)
	if err != nil {
		return nil, err
	}
	var doc correctionsDoc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		yamlErrors(errs, err)
		return nil, errs.err()
	}
	if seq == nil {
		return nil, citadel.Invalid("%s: not a corrections file: want a top-level corrections: list", name)
	}
	var entries []correctionEntry
	if doc.Corrections != nil { // nil: "corrections:" with no value, an empty list
		entries = *doc.Corrections
	}
	if len(entries) != len(seq.Content) { // cannot happen: both read the same list
		return nil, fmt.Errorf("%s: %d corrections decoded from %d list items", name, len(entries), len(seq.Content))
	}

	var known map[string]bool
	if cat != nil {
		known = make(map[string]bool, len(cat.Prowler.Checks))
		for _, c := range cat.Prowler.Checks {
			known[c.ID] = true
		}
	}
	type pair struct{ check, scf string }
	first := map[pair]int{}
	out := make([]citadel.LinkCorrection, 0, len(entries))
	for i, e := range entries {
		line := seq.Content[i].Line
		n := resolve(seq.Content[i])
		c := citadel.LinkCorrection{
			CheckID: strings.TrimSpace(e.Check), SCFID: strings.TrimSpace(e.SCF),
			Action: citadel.LinkAction(e.Action), Reason: e.Reason, By: strings.TrimSpace(e.By), At: at.UTC(),
		}
		ok := true
		if e.At != "" {
			t, perr := parseCorrectionTime(e.At)
			switch {
			case perr != nil:
				errs.add(valueLine(n, "at", line), "at %q is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor a date (2026-01-02)", e.At)
				ok = false
			case !at.IsZero() && t.After(at):
				errs.add(valueLine(n, "at", line), "at %s is after the import's time %s", t.Format(time.RFC3339), at.UTC().Format(time.RFC3339))
				ok = false
			default:
				c.At = t
			}
		}
		if err := c.Validate(); err != nil {
			errs.add(line, "%s", fileFields.Replace(err.Error()))
			ok = false
		}
		if known != nil && c.CheckID != "" && !known[c.CheckID] {
			errs.add(valueLine(n, "check", line), "unknown check %q (not a check of Prowler %s)", c.CheckID, cat.Prowler.Version)
			ok = false
		}
		if cat != nil && citadel.ValidSCFID(c.SCFID) && !cat.SCF.HasControl(c.SCFID) {
			errs.add(valueLine(n, "scf", line), "unknown SCF control %s (not in %s)", c.SCFID, cat.SCF.File)
			ok = false
		}
		k := pair{c.CheckID, c.SCFID}
		if prev, dup := first[k]; dup && k.check != "" && k.scf != "" {
			errs.add(line, "check %s and SCF control %s are corrected twice, at lines %d and %d: keep one", c.CheckID, c.SCFID, prev, line)
			ok = false
		} else {
			first[k] = line
		}
		if ok {
			out = append(out, c)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// correctionNodes reads the file as YAML nodes (syntax errors with their
// line) and returns the corrections list: nil when the file has no
// corrections key, an empty sequence when the key has no value. A file
// holds one document.
func correctionNodes(name string, b []byte) (*yaml.Node, error) {
	errs := &correctionsErrors{name: name}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, citadel.Invalid("%s: empty file: want a top-level corrections: list", name)
		}
		yamlErrors(errs, err)
		return nil, errs.err()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			line = 0
		}
		errs.add(line, "more than one YAML document: a corrections file holds one")
		return nil, errs.err()
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, citadel.Invalid("%s:%d: not a corrections file: want a top-level corrections: list", name, root.Line)
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "corrections" {
			continue
		}
		v := resolve(m.Content[i+1])
		if v.Kind != yaml.SequenceNode { // null (a non-list fails the typed decode)
			return &yaml.Node{Kind: yaml.SequenceNode, Line: v.Line}, nil
		}
		return v, nil
	}
	return nil, nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// valueLine is the line of the value of key in a mapping node, or def.
func valueLine(n *yaml.Node, key string, def int) int {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1].Line
		}
	}
	return def
}

var (
	yamlLineRe     = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownFieldRe = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// yamlErrors adds a yaml error's problems: a TypeError's "line 3: msg"
// (decoding, exact lines) becomes NAME:3: msg; a syntax error is NAME:
// invalid YAML: line 3: msg.
func yamlErrors(errs *correctionsErrors, err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, msg := range msgs {
		m := yamlLineRe.FindStringSubmatch(msg)
		if m == nil || te == nil {
			// A syntax error: its "line N" is the parser's estimate (of the
			// construct it could not finish, at times one line early), so it
			// stays in the message rather than becoming FILE:LINE.
			errs.add(0, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		text := m[2]
		if f := unknownFieldRe.FindStringSubmatch(text); f != nil {
			if strings.HasSuffix(f[2], "correctionsDoc") {
				text = fmt.Sprintf("unknown top-level field %q (a corrections file has only corrections:)", f[1])
			} else {
				text = fmt.Sprintf("unknown field %q (a correction's fields are %s)", f[1], correctionFields)
			}
		} else {
			text = goTypes.Replace(text)
		}
		errs.add(line, "%s", text)
	}
}

// fileFields names a correction's fields in Validate's messages as the file
// spells them.
var fileFields = strings.NewReplacer("check_id is", "check is", "scf_id is", "scf is", `scf_id "`, `scf "`)

// goTypes names the Go types of yaml's type errors as the file's readers know them.
var goTypes = strings.NewReplacer("[]catalog.correctionEntry", "a list of corrections", "catalog.correctionEntry", "a correction", "catalog.correctionsDoc", "a corrections file")

// parseCorrectionTime reads an `at`: an RFC 3339 time or a date (midnight
// UTC), returned in UTC.
func parseCorrectionTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	return t.UTC(), err
}
