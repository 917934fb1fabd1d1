package ocsf

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// This file is the reader's one pass over a finding: it checks the JSON
// grammar as encoding/json and jsontext do (invalid UTF-8 and duplicate
// names accepted, nesting up to 10,000 levels) and decodes the fields the
// reader uses on the way, stepping over the rest. It never explains a
// failure: a finding it does not accept whole (bad, or cut by the end of
// what has been read) goes to jsontext, which says what is wrong and where.
//
// The fields get exactly the values encoding/json's Unmarshal gave the
// reader's former wire struct: a pointer field (metadata, event_code,
// status_code, cloud, account, resources, a resource) is reset by null, a
// plain string left as it was; a key matches its field's name exactly or
// under Unicode simple case folding, after unescaping; the last of
// duplicate keys wins, and duplicate objects and arrays are decoded into
// what the first left. The first value of the wrong type is reported as that
// Unmarshal's UnmarshalTypeError said it.

// tokenizer options: encoding/json accepts invalid UTF-8 (decoded as
// U+FFFD) and duplicate names, and so do the walker and jsontext.
var tokenizer = []jsontext.Options{jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)}

// walker holds what one finding's walk decoded.
type walker struct {
	b     []byte
	final bool // b is the end of the file: a number may end where b does

	meta, event      bool // metadata, metadata.event_code are set (non-null)
	eventCode        string
	statusSet        bool
	statusCode       string
	status, detail   string
	severity         string
	cloud, account   bool
	region, accountU string
	resSet           bool
	res              []*resource

	wrong   string // the first value of the wrong type, as a message
	escaped bool   // the last string read has an escape
	scratch []byte
}

// resource is one element of resources; data is the span of its data value
// in the finding (length 0: absent).
type resource struct {
	uid, region      string
	dataOff, dataLen int
}

var (
	topNames      = []string{"metadata", "status_code", "status", "status_detail", "severity", "cloud", "resources"}
	metadataNames = []string{"event_code"}
	cloudNames    = []string{"region", "account"}
	accountNames  = []string{"uid"}
	resourceNames = []string{"uid", "region", "data"}
)

// walk reads the value that starts b, a finding. It returns the index just
// past it, or -1 if b does not start with a whole valid JSON value; w.wrong
// is set when a field has the wrong type. final says b ends where the file
// does.
func (w *walker) walk(b []byte, final bool) int {
	*w = walker{b: b, final: final, scratch: w.scratch[:0]}
	if w.at(0) != '{' {
		if w.at(0) != 'n' {
			w.wrongType("finding", 0, '{')
		}
		return w.value(0, 0) // null: nothing set
	}
	return w.members(0, 1, topNames, func(f, i int) int {
		switch f {
		case 0:
			return w.object(i, 1, "metadata", &w.meta, func() { w.event, w.eventCode = false, "" },
				metadataNames, func(_, i int) int { return w.str(i, 2, "metadata.event_code", &w.eventCode, &w.event) })
		case 1:
			return w.str(i, 1, "status_code", &w.statusCode, &w.statusSet)
		case 2:
			return w.str(i, 1, "status", &w.status, nil)
		case 3:
			return w.str(i, 1, "status_detail", &w.detail, nil)
		case 4:
			return w.str(i, 1, "severity", &w.severity, nil)
		case 5:
			return w.object(i, 1, "cloud", &w.cloud, func() { w.region, w.account, w.accountU = "", false, "" },
				cloudNames, w.cloudMember)
		default:
			return w.resources(i)
		}
	})
}

func (w *walker) cloudMember(f, i int) int {
	if f == 0 {
		return w.str(i, 2, "cloud.region", &w.region, nil)
	}
	return w.object(i, 2, "cloud.account", &w.account, func() { w.accountU = "" },
		accountNames, func(_, i int) int { return w.str(i, 3, "cloud.account.uid", &w.accountU, nil) })
}

// wrongType notes the value at i, of the wrong kind, as encoding/json's
// UnmarshalTypeError said it (the first only).
func (w *walker) wrongType(field string, i int, want byte) {
	if w.wrong == "" {
		w.wrong = fmt.Sprintf("%s is a JSON %s, not a %s", field, kindName(w.at(i)), kindName(want))
	}
}

func kindName(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	default:
		return "number"
	}
}

// object reads the value at i (in a container of depth depth) wanted as an
// object: null resets the pointer field set; an object sets it (calling
// reset first if it was not set) and gives each member whose key matches
// names to member; anything else is a wrong type.
func (w *walker) object(i, depth int, field string, set *bool, reset func(), names []string, member func(f, i int) int) int {
	switch w.at(i) {
	case '{':
		if !*set {
			*set = true
			reset()
		}
		return w.members(i, depth+1, names, member)
	case 'n':
		*set = false
	default:
		w.wrongType(field, i, '{')
	}
	return w.value(i, depth)
}

// match returns the index of the name the quoted key matches as
// encoding/json matches struct fields (exactly, else under Unicode simple
// case folding, after unescaping), or -1. plain is stringEnd's for key.
func (w *walker) match(key []byte, names []string, plain bool) int {
	s := key[1 : len(key)-1]
	if plain {
		for i, n := range names {
			if len(s) == len(n) && (string(s) == n || asciiFold(s, n)) {
				return i
			}
		}
		return -1
	}
	w.scratch, _ = jsontext.AppendUnquote(w.scratch[:0], key)
	for i, n := range names {
		if bytes.EqualFold(w.scratch, []byte(n)) {
			return i
		}
	}
	return -1
}

// asciiFold reports whether the ASCII s equals the lower-case name n but
// for the case of letters.
func asciiFold(s []byte, n string) bool {
	if len(s) != len(n) {
		return false
	}
	for i, c := range s {
		if c != n[i] && !('A' <= c && c <= 'Z' && c+'a'-'A' == n[i]) {
			return false
		}
	}
	return true
}

// str reads the value at i (in a container of depth depth) wanted as a
// string into dst; null resets a pointer field (set given) and leaves a
// plain one.
func (w *walker) str(i, depth int, field string, dst *string, set *bool) int {
	switch w.at(i) {
	case '"':
		end := w.stringEnd(i)
		if end < 0 {
			return -1
		}
		*dst = w.unquote(w.b[i:end], w.plain(w.b[i:end]))
		if set != nil {
			*set = true
		}
		return end
	case 'n':
		if set != nil {
			*dst, *set = "", false
		}
	default:
		w.wrongType(field, i, '"')
	}
	return w.value(i, depth)
}

// unquote decodes a valid JSON string as encoding/json does (invalid UTF-8
// and unpaired surrogates become U+FFFD); plain is stringEnd's for v.
func (w *walker) unquote(v []byte, plain bool) string {
	s := v[1 : len(v)-1]
	if plain || bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s)
	}
	w.scratch, _ = jsontext.AppendUnquote(w.scratch[:0], v)
	return string(w.scratch)
}

// resources reads the value at i as encoding/json decodes into a
// *[]*Resource: into the slice a duplicate key left, reusing its elements.
func (w *walker) resources(i int) int {
	switch w.at(i) {
	case '[':
	case 'n':
		w.resSet, w.res = false, nil
		return w.value(i, 1)
	default:
		w.wrongType("resources", i, '[')
		return w.value(i, 1)
	}
	if !w.resSet {
		w.resSet, w.res = true, nil
	}
	count := 0
	end := w.elements(i, 2, func(n, i int) int {
		if n >= cap(w.res) {
			w.res = append(w.res[:cap(w.res)], nil)[:len(w.res)]
		}
		if n >= len(w.res) {
			w.res = w.res[:n+1]
		}
		count = n + 1
		return w.resource(i, n)
	})
	if end >= 0 && w.wrong == "" {
		if count < len(w.res) {
			w.res = w.res[:count]
		}
		if count == 0 {
			w.res = []*resource{}
		}
	}
	return end
}

func (w *walker) resource(i, n int) int {
	switch w.at(i) {
	case '{':
	case 'n':
		w.res[n] = nil
		return w.value(i, 2)
	default:
		w.wrongType("resources", i, '{')
		return w.value(i, 2)
	}
	if w.res[n] == nil {
		w.res[n] = &resource{}
	}
	r := w.res[n]
	return w.members(i, 3, resourceNames, func(f, i int) int {
		switch f {
		case 0:
			return w.str(i, 3, "resources.uid", &r.uid, nil)
		case 1:
			return w.str(i, 3, "resources.region", &r.region, nil)
		}
		end := w.value(i, 3) // any JSON value, kept as its bytes
		r.dataOff, r.dataLen = i, end-i
		return end
	})
}

// finding validates what the walk of one finding decoded.
func (w *walker) finding(index int, offset int64, raw []byte) (Finding, error) {
	bad := func(kind ProblemKind, format string, args ...any) (Finding, error) {
		return Finding{}, &Problem{Index: index, Offset: offset, Kind: kind, Message: fmt.Sprintf(format, args...)}
	}
	if !w.meta || !w.event || w.eventCode == "" {
		return bad(KindMissingField, "metadata.event_code (the check id) is missing")
	}
	if !citadel.ValidID(w.eventCode) {
		return bad(KindInvalidField, "metadata.event_code %q is not a check id", clip(w.eventCode, 80))
	}
	if !w.statusSet || w.statusCode == "" {
		return bad(KindMissingField, "status_code is missing")
	}
	if len(w.statusCode) > 32 {
		return bad(KindInvalidField, "status_code %q is not a status", clip(w.statusCode, 32))
	}
	if !w.resSet || len(w.res) == 0 {
		return bad(KindMissingField, "resources is missing or empty")
	}
	if len(w.res) > MaxResources {
		return bad(KindInvalidField, "%d resources, over the limit of %d", len(w.res), MaxResources)
	}
	f := Finding{
		Index: index, Offset: offset, Raw: raw,
		CheckID: w.eventCode, StatusCode: w.statusCode,
		Status: clip(w.status, 64), Severity: clip(w.severity, 32),
	}
	f.StatusDetail, f.DetailTruncated = cut(w.detail, MaxDetailBytes)
	if w.cloud {
		f.Region = clip(w.region, 64)
		if w.account {
			f.AccountUID = clip(w.accountU, 64)
		}
	}
	f.Resources = make([]Resource, 0, len(w.res))
	for i, res := range w.res {
		if res == nil || res.uid == "" {
			return bad(KindMissingField, "resources[%d].uid is missing", i)
		}
		if len(res.uid) > MaxUIDBytes {
			return bad(KindInvalidField, "resources[%d].uid is %d bytes, over %d", i, len(res.uid), MaxUIDBytes)
		}
		r := Resource{UID: res.uid, Region: clip(res.region, 64)}
		if d := raw[res.dataOff : res.dataOff+res.dataLen : res.dataOff+res.dataLen]; string(d) != "null" && len(d) > 0 {
			r.Data = d
		}
		f.Resources = append(f.Resources, r)
	}
	return f, nil
}
