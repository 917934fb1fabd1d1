package ddb

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type projInner struct {
	B string `dynamo:"Bee,omitempty"`
	A string // shadowed by the outer A: the first wins
}

type projOuter struct {
	A string
	projInner
	hidden  string
	Skipped string `dynamo:"-"`
	*projPtr
	C int `dynamo:",omitempty"`
}

type projPtr struct{ D bool }

func TestAttributes(t *testing.T) {
	_ = projOuter{}.hidden
	for _, tt := range []struct {
		name string
		got  []string
		want []string
	}{
		{"tags, embedding, unexported, skipped", attributes[projOuter](), []string{"A", "Bee", "D", "C"}},
		{"the projection ListResultHeads reads", resultHeadAttributes, []string{"PK", "SK", "AssetARN", "ScanID",
			"Status", "Muted", "StatusExtended", "Severity", "Region", "ContentHash", "ScannedAt", "FirstScanID", "ExceptionID"}},
		{"the projection ResultStates reads", resultStateAttributes, []string{"PK", "SK", "ScanID", "Status", "Muted", "ContentHash", "ExceptionID", "PreviousStatus", "HadPrevious"}},
	} {
		if d := cmp.Diff(tt.want, tt.got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

func TestProjectionRefusesAnAttributeTheItemLacks(t *testing.T) {
	type drifted struct {
		PK     string
		Statuz string
	}
	defer func() {
		if recover() == nil {
			t.Error("projection of an attribute resultItem lacks did not panic")
		}
	}()
	projection[drifted, resultItem]()
}
