package ddb

import "testing"

func TestResultIDOfPK(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	for _, tt := range []struct {
		pk, want string
		ok       bool
	}{
		{resultKey(id).PK, id, true},
		{resultHistoryKey(id, "scan-1").PK, id, true},
		{"RES#", "", false},
		{"CHECK#x", "", false},
		{"", "", false},
	} {
		got, err := resultIDOfPK(tt.pk)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("resultIDOfPK(%q) = %q, %v; want %q, ok %v", tt.pk, got, err, tt.want, tt.ok)
		}
	}
}
