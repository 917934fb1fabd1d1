package digest_test

import (
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/digest"
)

func asset(t *testing.T, id string) digest.Asset {
	t.Helper()
	a, ok := digest.ParseAsset(id)
	if !ok {
		t.Fatalf("ParseAsset(%q) failed", id)
	}
	return a
}

func TestStatusRoundTrip(t *testing.T) {
	for _, st := range []citadel.CheckStatus{citadel.StatusPass, citadel.StatusFail, citadel.StatusError, citadel.StatusNotApplicable} {
		for _, muted := range []bool{false, true} {
			b := digest.PackStatus(st, muted)
			gotSt, gotMuted := b.Unpack()
			if gotSt != st || gotMuted != muted || b.CheckStatus() != st {
				t.Errorf("PackStatus(%q, %v) = %#x unpacks to (%q, %v)", st, muted, b, gotSt, gotMuted)
			}
		}
	}
	// The byte values are stored: they never change.
	for _, tt := range []struct {
		st    citadel.CheckStatus
		muted bool
		want  digest.Status
	}{
		{"", false, 0}, {"bogus", false, 0}, {citadel.StatusPass, false, 1}, {citadel.StatusFail, false, 2},
		{citadel.StatusError, false, 3}, {citadel.StatusNotApplicable, false, 4}, {citadel.StatusFail, true, 0x82},
	} {
		if got := digest.PackStatus(tt.st, tt.muted); got != tt.want {
			t.Errorf("PackStatus(%q, %v) = %#x, want %#x", tt.st, tt.muted, got, tt.want)
		}
	}
	// An unknown code reads as "" (a digest written by a newer version).
	if st, muted := digest.Status(0x7f).Unpack(); st != "" || muted {
		t.Errorf("Status(0x7f) = (%q, %v), want (\"\", false)", st, muted)
	}
}

// TestExceptedFlag: the excepted flag marks a failing result an exception
// covers, beside the muted flag and Prowler's status, which it leaves as
// they are; other statuses are never excepted.
func TestExceptedFlag(t *testing.T) {
	for _, tt := range []struct {
		st              citadel.CheckStatus
		muted, excepted bool
		want            digest.Status // stored: the values never change
		effective       citadel.CheckStatus
	}{
		{citadel.StatusFail, false, true, 0x42, citadel.StatusExcepted},
		{citadel.StatusFail, true, true, 0xc2, citadel.StatusExcepted},
		{citadel.StatusFail, true, false, 0x82, citadel.StatusFail},
		{citadel.StatusFail, false, false, 0x02, citadel.StatusFail},
		{citadel.StatusPass, false, true, 0x01, citadel.StatusPass},
		{citadel.StatusError, true, true, 0x83, citadel.StatusError},
		{citadel.StatusNotApplicable, false, true, 0x04, citadel.StatusNotApplicable},
	} {
		b := digest.PackStatus(tt.st, tt.muted).WithException(tt.excepted)
		st, muted := b.Unpack()
		got := struct {
			B         digest.Status
			St        citadel.CheckStatus
			Muted     bool
			Effective citadel.CheckStatus
		}{b, st, muted, b.Effective()}
		want := got
		want.B, want.St, want.Muted, want.Effective = tt.want, tt.st, tt.muted, tt.effective
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s muted %v excepted %v (-want +got):\n%s", tt.st, tt.muted, tt.excepted, d)
		}
		if b.WithException(false) != digest.PackStatus(tt.st, tt.muted) {
			t.Errorf("%s: clearing the flag gives %#x", tt.st, b.WithException(false))
		}
	}
}

// TestMarkedHash: an entry's hash is the content hash when no exception
// covers the result, and differs for each exception that does.
func TestMarkedHash(t *testing.T) {
	h := digest.Hash{1, 2, 3, 4, 5, 6, 7, 8}
	if h.Marked("") != h {
		t.Errorf("unmarked %s, want the content hash %s", h.Marked(""), h)
	}
	a, b := h.Marked("exc-a"), h.Marked("exc-b")
	if a == h || b == h || a == b || a != h.Marked("exc-a") {
		t.Errorf("marked: %s, %s of %s", a, b, h)
	}
	if got, ok := digest.ParseHash(a.String()); !ok || got != a {
		t.Errorf("ParseHash(%s) = %s, %v", a, got, ok)
	}
	for _, bad := range []string{"", "0102", a.String() + "00", "zz" + a.String()[2:]} {
		if _, ok := digest.ParseHash(bad); ok {
			t.Errorf("ParseHash(%q) ok", bad)
		}
	}
}

func TestParseAsset(t *testing.T) {
	id := citadel.AssetID("int-1", citadel.SourceAWS, "arn:aws:s3:::b")
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{id, true}, {"", false}, {id[:19], false}, {id + "0", false}, {"zz" + id[2:], false},
	} {
		a, ok := digest.ParseAsset(tt.id)
		if ok != tt.ok || ok && a.String() != tt.id {
			t.Errorf("ParseAsset(%q) = (%s, %v), want ok %v", tt.id, a, ok, tt.ok)
		}
	}
}

func sample(t *testing.T) []digest.Entry {
	return []digest.Entry{
		{Check: 0, Asset: asset(t, "00000000000000000001"), Status: digest.PackStatus(citadel.StatusPass, false), Hash: digest.Hash{1, 2, 3, 4, 5, 6, 7, 8}},
		{Check: 0, Asset: asset(t, "ff000000000000000000"), Status: digest.PackStatus(citadel.StatusFail, true), Hash: digest.Hash{0xff}},
		{Check: 0x0102, Asset: asset(t, "0123456789abcdef0123"), Status: digest.PackStatus(citadel.StatusNotApplicable, false)},
	}
}

// The byte format is what the store keeps for 400 days: a golden file pins it.
func TestEncodeIsTheStoredFormat(t *testing.T) {
	es := sample(t)
	golden, err := os.ReadFile("testdata/three-entries.hex")
	if err != nil {
		t.Fatal(err)
	}
	data := digest.Encode(es)
	if d := cmp.Diff(strings.TrimSpace(string(golden)), hex.EncodeToString(data)); d != "" {
		t.Errorf("Encode (-golden +got):\n%s", d)
	}
	if len(data) != len(es)*digest.EntrySize {
		t.Errorf("%d bytes for %d entries", len(data), len(es))
	}
	var got []digest.Entry
	if err := digest.Decode(data, func(e digest.Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(es, got); d != "" {
		t.Errorf("Decode(Encode) (-want +got):\n%s", d)
	}
}

func TestDecodeBadInput(t *testing.T) {
	data := digest.Encode(sample(t))
	calls := 0
	count := func(digest.Entry) error { calls++; return nil }
	for _, n := range []int{1, 20, 22, len(data) - 1} {
		calls = 0
		if err := digest.Decode(data[:n], count); err == nil || calls != 0 {
			t.Errorf("Decode of %d bytes: err %v after %d calls, want an error before any", n, err, calls)
		}
	}
	stop := errors.New("stop")
	calls = 0
	if err := digest.Decode(data, func(digest.Entry) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Decode: err %v after %d calls, want fn's error after 1", err, calls)
	}
}

func TestValidate(t *testing.T) {
	a1, a2 := asset(t, "00000000000000000001"), asset(t, "00000000000000000002")
	checks := []string{"a", "b"}
	for _, tt := range []struct {
		name    string
		checks  []string
		entries []digest.Entry
		invalid bool
	}{
		{"empty", checks, nil, false},
		{"sorted", checks, []digest.Entry{{Check: 0, Asset: a1}, {Check: 0, Asset: a2}, {Check: 1, Asset: a1}}, false},
		{"check out of range", checks, []digest.Entry{{Check: 2, Asset: a1}}, true},
		{"assets out of order", checks, []digest.Entry{{Check: 0, Asset: a2}, {Check: 0, Asset: a1}}, true},
		{"checks out of order", checks, []digest.Entry{{Check: 1, Asset: a1}, {Check: 0, Asset: a2}}, true},
		{"repeat", checks, []digest.Entry{{Check: 1, Asset: a1}, {Check: 1, Asset: a1}}, true},
		// Order is by check name, not index.
		{"by name", []string{"b", "a"}, []digest.Entry{{Check: 1, Asset: a2}, {Check: 0, Asset: a1}}, false},
	} {
		err := digest.Validate(tt.checks, tt.entries)
		if citadel.IsInvalid(err) != tt.invalid || (err != nil) != tt.invalid {
			t.Errorf("%s: Validate = %v, want invalid %v", tt.name, err, tt.invalid)
		}
	}
}

func TestLess(t *testing.T) {
	a1, a2 := asset(t, "00000000000000000001"), asset(t, "00000000000000000002")
	for _, tt := range []struct {
		a, b digest.Entry
		want bool
	}{
		{digest.Entry{Check: 0, Asset: a2}, digest.Entry{Check: 1, Asset: a1}, true},
		{digest.Entry{Check: 1, Asset: a1}, digest.Entry{Check: 0, Asset: a2}, false},
		{digest.Entry{Check: 1, Asset: a1}, digest.Entry{Check: 1, Asset: a2}, true},
		{digest.Entry{Check: 1, Asset: a1}, digest.Entry{Check: 1, Asset: a1, Status: 1}, false},
	} {
		if got := digest.Less(tt.a, tt.b); got != tt.want {
			t.Errorf("Less(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFirstAfter(t *testing.T) {
	a1, a2 := asset(t, "00000000000000000001"), asset(t, "00000000000000000002")
	for _, tt := range []struct {
		first, check string
		asset        digest.Asset
		want         bool
	}{
		{digest.FirstKey("s3_b", a1), "s3_a", a2, true},
		{digest.FirstKey("s3_a", a2), "s3_b", a1, false},
		{digest.FirstKey("s3_a", a2), "s3_a", a1, true},
		{digest.FirstKey("s3_a", a1), "s3_a", a1, false},
		// "s3" < "s3_a" as a check, though "s3#..." > "s3_a#..." as text.
		{digest.FirstKey("s3", a2), "s3_a", a1, false},
		{digest.FirstKey("a#b", a1), "a", a2, true},
		{"short", "a", a1, false},
	} {
		if got := digest.FirstAfter(tt.first, tt.check, tt.asset); got != tt.want {
			t.Errorf("FirstAfter(%q, %q, %s) = %v, want %v", tt.first, tt.check, tt.asset, got, tt.want)
		}
	}
}
