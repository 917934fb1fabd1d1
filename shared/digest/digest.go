// Package digest is the per-scan digest of check results: one result of a
// scan as a 21-byte entry (the check as an index into the digest's sorted
// check list, the asset id, the status with the muted and excepted flags, 8
// bytes of the content hash, marked with the id of the exception that
// covers the result when one does), entries sorted by (check, asset), and
// their byte format.
// The store (shared/ddb) keeps a scan's entries in chunks of these bytes;
// the check-results step builds them and merges a scan with the previous
// one over them. Standard library and shared/citadel only.
package digest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// EntrySize is the packed size of an Entry.
const EntrySize = 21

// MaxChecks is the number of distinct checks one digest can name (an
// entry's check is a 16-bit index).
const MaxChecks = 1<<16 - 1

// AssetIDLen is the length of an asset id in text (citadel.AssetID: 20 hex
// digits, 10 bytes packed).
const AssetIDLen = 2 * len(Asset{})

// Asset is an asset id, packed.
type Asset [10]byte

// ParseAsset packs an asset id (20 hex digits); ok is false for any other
// string.
func ParseAsset(id string) (a Asset, ok bool) {
	if len(id) != AssetIDLen {
		return a, false
	}
	_, err := hex.Decode(a[:], []byte(id))
	return a, err == nil
}

// String is the asset id in text.
func (a Asset) String() string { return hex.EncodeToString(a[:]) }

// Hash is the first 8 bytes of a result's content hash.
type Hash [8]byte

// String is the hash as the store keeps it on the current result (16 hex
// digits).
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads a hash as String writes it; ok is false for any other
// string.
func ParseHash(s string) (h Hash, ok bool) {
	if len(s) != 2*len(h) {
		return h, false
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err == nil
}

// Marked is the hash an entry carries for a result of content hash h that
// exception exceptionID covers: h itself when none does (so entries
// written before exceptions compare equal), else 8 bytes of SHA-256 over h
// and the id. A change of the exception alone is so a change of the entry,
// and the comparison rewrites the result once.
func (h Hash) Marked(exceptionID string) Hash {
	if exceptionID == "" {
		return h
	}
	sum := sha256.New()
	sum.Write(h[:])
	sum.Write([]byte{0})
	sum.Write([]byte(exceptionID))
	var out Hash
	copy(out[:], sum.Sum(nil))
	return out
}

// Status is a check status and the muted and excepted flags in a byte.
type Status byte

const (
	mutedFlag    Status = 0x80
	exceptedFlag Status = 0x40
)

// statusCodes numbers the statuses; 0 is an unknown status.
var statusCodes = []citadel.CheckStatus{"", citadel.StatusPass, citadel.StatusFail, citadel.StatusError, citadel.StatusNotApplicable}

// PackStatus packs a status and the muted flag; a status it does not know
// packs as "".
func PackStatus(st citadel.CheckStatus, muted bool) Status {
	var b Status
	for i, c := range statusCodes {
		if c == st && i > 0 {
			b = Status(i)
		}
	}
	if muted {
		b |= mutedFlag
	}
	return b
}

// WithException sets the excepted flag of a failing status (an exception
// covers the result) or clears it; other statuses are never excepted.
func (s Status) WithException(excepted bool) Status {
	s &^= exceptedFlag
	if excepted && s.CheckStatus() == citadel.StatusFail {
		s |= exceptedFlag
	}
	return s
}

// Excepted reports whether an exception covered the result.
func (s Status) Excepted() bool { return s&exceptedFlag != 0 }

// Effective is the result's status as shown and counted
// (citadel.EffectiveStatus): excepted for a failing result an exception
// covered.
func (s Status) Effective() citadel.CheckStatus {
	return citadel.EffectiveStatus(s.CheckStatus(), s.Excepted())
}

// Unpack returns Prowler's status and the muted flag.
func (s Status) Unpack() (citadel.CheckStatus, bool) {
	i := int(s &^ (mutedFlag | exceptedFlag))
	if i >= len(statusCodes) {
		i = 0
	}
	return statusCodes[i], s&mutedFlag != 0
}

// CheckStatus is the status without the muted flag.
func (s Status) CheckStatus() citadel.CheckStatus { st, _ := s.Unpack(); return st }

// Entry is one result of a scan.
type Entry struct {
	// Check is an index into the digest's check list.
	Check  uint16
	Asset  Asset
	Status Status
	Hash   Hash
}

// Key names a result within one digest: its check index and asset.
type Key struct {
	Check uint16
	Asset Asset
}

// Key is the entry's (check, asset).
func (e Entry) Key() Key { return Key{e.Check, e.Asset} }

// Less orders entries of one digest whose check list is sorted: by check
// index, then asset.
func Less(a, b Entry) bool {
	if a.Check != b.Check {
		return a.Check < b.Check
	}
	return bytes.Compare(a.Asset[:], b.Asset[:]) < 0
}

// Compare orders entries by (checks[Check], Asset), for entries named by the
// same check list.
func Compare(checks []string, a, b Entry) int {
	if a.Check != b.Check {
		if checks[a.Check] < checks[b.Check] {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.Asset[:], b.Asset[:])
}

// Validate reports, as an invalid-input error, entries that name a check
// past the list or are not sorted by (check, asset) without repeats.
func Validate(checks []string, entries []Entry) error {
	for i, e := range entries {
		if int(e.Check) >= len(checks) {
			return citadel.Invalid("entry %d names check %d of %d", i, e.Check, len(checks))
		}
		if i > 0 && Compare(checks, entries[i-1], e) >= 0 {
			return citadel.Invalid("entries are not sorted at %d", i)
		}
	}
	return nil
}

// Append appends an entry's 21 bytes to dst.
func Append(dst []byte, e Entry) []byte {
	dst = append(dst, byte(e.Check>>8), byte(e.Check))
	dst = append(dst, e.Asset[:]...)
	dst = append(dst, byte(e.Status))
	return append(dst, e.Hash[:]...)
}

// Encode packs entries.
func Encode(entries []Entry) []byte {
	data := make([]byte, 0, len(entries)*EntrySize)
	for _, e := range entries {
		data = Append(data, e)
	}
	return data
}

// Decode calls fn with each entry packed in data, in order, and stops at
// fn's first error. Data that is not whole entries is an error before any
// call.
func Decode(data []byte, fn func(Entry) error) error {
	if len(data)%EntrySize != 0 {
		return fmt.Errorf("digest chunk of %d bytes is not whole entries", len(data))
	}
	for ; len(data) > 0; data = data[EntrySize:] {
		var e Entry
		e.Check = uint16(data[0])<<8 | uint16(data[1])
		copy(e.Asset[:], data[2:12])
		e.Status = Status(data[12])
		copy(e.Hash[:], data[13:21])
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// FirstKey is how a digest's head names the first entry of a chunk:
// "<check>#<asset id>".
func FirstKey(check string, a Asset) string { return check + "#" + a.String() }

// FirstAfter reports whether a chunk's FirstKey sorts after (check, asset),
// comparing the check first, as a unit (a check id may hold a '#'). A key
// too short to hold an asset id sorts first.
func FirstAfter(first, check string, a Asset) bool {
	if len(first) < AssetIDLen+1 {
		return false
	}
	fc, fa := first[:len(first)-AssetIDLen-1], first[len(first)-AssetIDLen:]
	if fc != check {
		return fc > check
	}
	return fa > a.String()
}
