package ddb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/ddb"
	"github.com/citadelsecure/citadel/shared/testkit/testenv"
)

const day = 24 * time.Hour

// newException is a request of folder f1 by "req" at t0, expiring after days.
func newException(t *testing.T, id, integ, check string, days int) citadel.Exception {
	t.Helper()
	e, err := citadel.RequestException(id, "f1", citadel.ExceptionRequest{IntegrationID: integ, CheckID: check,
		Scope: citadel.ExceptionScope{Kind: citadel.ScopeIntegration}, Justification: "accepted", Owner: "team",
		ExpiresAt: t0.Add(time.Duration(days) * day)}, "req", t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ids(es []citadel.Exception) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// allPages walks a paged list with pages of one item.
func allPages(t *testing.T, list func(limit int, cursor string) (citadel.Page[citadel.Exception], error)) []string {
	t.Helper()
	var out []citadel.Exception
	for page, err := range citadel.Pages(func(c string) (citadel.Page[citadel.Exception], error) { return list(1, c) }) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
	}
	return ids(out)
}

func TestExceptionsRoundTripAndLists(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	asset, err := citadel.RequestException("exc-a", "f1", citadel.ExceptionRequest{IntegrationID: "int-1", CheckID: "s3_public",
		Scope:         citadel.ExceptionScope{Kind: citadel.ScopeAsset, AssetARN: "arn:aws:s3:::logs"},
		Justification: "a website", Owner: "web", ExpiresAt: t0.Add(30 * day)}, "req", t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	es := []citadel.Exception{asset, newException(t, "exc-b", "int-1", "s3_public", 10), newException(t, "exc-c", "int-1", "iam_root_mfa", 10),
		newException(t, "exc-d", "int-2", "s3_public", 10)}
	for _, e := range es {
		if err := s.CreateException(ctx, e); err != nil {
			t.Fatalf("create %s: %v", e.ID, err)
		}
	}
	got, err := s.GetException(ctx, "exc-a")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(asset, got); d != "" {
		t.Errorf("round trip (-put +got):\n%s", d)
	}

	// Refused: an existing id, an invalid or a decided exception; nothing changes.
	again := newException(t, "exc-a", "int-9", "ec2_x", 5)
	approved, err := newException(t, "exc-z", "int-1", "s3_public", 5).Decide(citadel.ExceptionDecision{Action: citadel.ExceptionApprove, By: "rev", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	bad := newException(t, "exc-y", "int-1", "s3_public", 5)
	bad.Owner = ""
	for _, tt := range []struct {
		name string
		e    citadel.Exception
		code citadel.ErrorCode
	}{{"existing id", again, citadel.CodeConflict}, {"approved already", approved, citadel.CodeInvalid}, {"no owner", bad, citadel.CodeInvalid}} {
		if err := s.CreateException(ctx, tt.e); citadel.CodeOf(err) != tt.code {
			t.Errorf("%s: CreateException = %v, want %s", tt.name, err, tt.code)
		}
	}
	if got, _ := s.GetException(ctx, "exc-a"); got.IntegrationID != "int-1" {
		t.Errorf("a refused create overwrote exc-a: %+v", got)
	}
	for _, id := range []string{"exc-z", "exc-y"} {
		if _, err := s.GetException(ctx, id); !citadel.IsNotFound(err) {
			t.Errorf("refused %s: GetException = %v, want not found", id, err)
		}
	}
	if _, err := s.GetException(ctx, "exc-nope"); !citadel.IsNotFound(err) {
		t.Errorf("unknown id: %v", err)
	}

	if _, err := s.DecideException(ctx, "exc-b", citadel.ExceptionDecision{Action: citadel.ExceptionApprove, By: "rev", At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	lists := []struct {
		name string
		list func(limit int, cursor string) (citadel.Page[citadel.Exception], error)
		want []string
	}{
		{"integration", func(l int, c string) (citadel.Page[citadel.Exception], error) {
			return s.ListExceptionsOfIntegration(ctx, "int-1", "", l, c)
		}, []string{"exc-b", "exc-c", "exc-a"}}, // by status (approved, requested), then check
		{"integration, requested", func(l int, c string) (citadel.Page[citadel.Exception], error) {
			return s.ListExceptionsOfIntegration(ctx, "int-1", citadel.ExceptionRequested, l, c)
		}, []string{"exc-c", "exc-a"}},
		{"integration, rejected", func(l int, c string) (citadel.Page[citadel.Exception], error) {
			return s.ListExceptionsOfIntegration(ctx, "int-1", citadel.ExceptionRejected, l, c)
		}, []string{}},
		{"folder", func(l int, c string) (citadel.Page[citadel.Exception], error) {
			return s.ListExceptionsOfFolder(ctx, "f1", "", l, c)
		}, []string{"exc-b", "exc-a", "exc-c", "exc-d"}},
		{"folder, requested", func(l int, c string) (citadel.Page[citadel.Exception], error) {
			return s.ListExceptionsOfFolder(ctx, "f1", citadel.ExceptionRequested, l, c)
		}, []string{"exc-a", "exc-c", "exc-d"}},
		{"another folder", func(l int, c string) (citadel.Page[citadel.Exception], error) {
			return s.ListExceptionsOfFolder(ctx, "f2", "", l, c)
		}, []string{}},
	}
	for _, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, allPages(t, tt.list)); d != "" {
				t.Errorf("ids (-want +got):\n%s", d)
			}
		})
	}
	// A cursor is bound to its partition and status.
	first, err := s.ListExceptionsOfFolder(ctx, "f1", citadel.ExceptionRequested, 1, "")
	if err != nil || first.Next == "" {
		t.Fatalf("first page: %+v %v", first, err)
	}
	for name, list := range map[string]func() error{
		"another status": func() error {
			_, err := s.ListExceptionsOfFolder(ctx, "f1", citadel.ExceptionApproved, 1, first.Next)
			return err
		},
		"another folder": func() error {
			_, err := s.ListExceptionsOfFolder(ctx, "f2", citadel.ExceptionRequested, 1, first.Next)
			return err
		},
		"an integration": func() error {
			_, err := s.ListExceptionsOfIntegration(ctx, "int-1", citadel.ExceptionRequested, 1, first.Next)
			return err
		},
	} {
		if err := list(); !citadel.IsInvalid(err) {
			t.Errorf("cursor of the folder's requested list on %s: %v, want %q", name, err, ddb.BadCursor)
		}
	}
	if _, err := s.ListExceptionsOfFolder(ctx, "f1", "paused", 10, ""); !citadel.IsInvalid(err) {
		t.Errorf("unknown status: %v", err)
	}

	// What the controls step reads: one check's exceptions of a status.
	for _, tt := range []struct {
		check  string
		status citadel.ExceptionStatus
		want   []string
	}{
		{"s3_public", citadel.ExceptionApproved, []string{"exc-b"}},
		{"s3_public", citadel.ExceptionRequested, []string{"exc-a"}},
		{"iam_root_mfa", citadel.ExceptionApproved, []string{}},
		{"s3_publi", citadel.ExceptionRequested, []string{}}, // a prefix of a check is not the check
	} {
		got, err := s.ExceptionsOfCheck(ctx, "int-1", tt.check, tt.status)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tt.want, ids(got)); d != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.status, tt.check, d)
		}
	}
}

func TestDecideExceptionMovesItsExpiryEntry(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	for _, e := range []citadel.Exception{newException(t, "exc-1", "int-1", "s3_public", 10), newException(t, "exc-2", "int-1", "s3_public", 20),
		newException(t, "exc-3", "int-2", "ec2_open", 30)} {
		if err := s.CreateException(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	expiring := func(status citadel.ExceptionStatus, before time.Time) []string {
		t.Helper()
		var out []citadel.Exception
		for page, err := range citadel.Pages(func(c string) (citadel.Page[citadel.Exception], error) {
			return s.ListExpiringExceptions(ctx, status, before, 1, c)
		}) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page...)
		}
		return ids(out)
	}
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	decide := func(id string, a citadel.ExceptionAction, by string, when time.Time) (citadel.Exception, error) {
		return s.DecideException(ctx, id, citadel.ExceptionDecision{Action: a, By: by, At: when, Note: string(a)})
	}
	if d := cmp.Diff([]string{"exc-1", "exc-2", "exc-3"}, expiring(citadel.ExceptionRequested, t0.Add(365*day))); d != "" {
		t.Errorf("requested, expiring within a year (-want +got):\n%s", d)
	}

	// Approve two, reject one.
	for _, step := range []struct {
		id string
		a  citadel.ExceptionAction
	}{{"exc-1", citadel.ExceptionApprove}, {"exc-2", citadel.ExceptionApprove}, {"exc-3", citadel.ExceptionReject}} {
		if _, err := decide(step.id, step.a, "rev", at(1)); err != nil {
			t.Fatalf("%s %s: %v", step.a, step.id, err)
		}
	}
	for _, tt := range []struct {
		status citadel.ExceptionStatus
		before time.Time
		want   []string
	}{
		{citadel.ExceptionApproved, t0.Add(365 * day), []string{"exc-1", "exc-2"}},
		{citadel.ExceptionApproved, t0.Add(20 * day), []string{"exc-1"}}, // exc-2 expires at exactly that time: not before it
		{citadel.ExceptionApproved, t0.Add(20*day + time.Nanosecond), []string{"exc-1", "exc-2"}},
		{citadel.ExceptionApproved, t0.Add(10 * day), []string{}},
		{citadel.ExceptionRequested, t0.Add(365 * day), []string{}},
	} {
		if d := cmp.Diff(tt.want, expiring(tt.status, tt.before)); d != "" {
			t.Errorf("%s before %s (-want +got):\n%s", tt.status, tt.before, d)
		}
	}
	if _, err := s.ListExpiringExceptions(ctx, citadel.ExceptionRevoked, t0, 10, ""); !citadel.IsInvalid(err) {
		t.Errorf("expiring revoked ones: %v, want invalid", err)
	}

	// Refused decisions write nothing.
	before, _ := s.GetException(ctx, "exc-1")
	for _, tt := range []struct {
		name string
		id   string
		a    citadel.ExceptionAction
		by   string
		when time.Time
		code citadel.ErrorCode
	}{
		{"approve again", "exc-1", citadel.ExceptionApprove, "rev2", at(2), citadel.CodeConflict},
		{"reject an approved one", "exc-1", citadel.ExceptionReject, "rev2", at(2), citadel.CodeConflict},
		{"expire early", "exc-1", citadel.ExceptionExpire, citadel.ExceptionSweeper, at(2), citadel.CodeConflict},
		{"revoke a rejected one", "exc-3", citadel.ExceptionRevoke, "rev", at(2), citadel.CodeConflict},
		{"unknown", "exc-9", citadel.ExceptionApprove, "rev", at(2), citadel.CodeNotFound},
	} {
		if _, err := decide(tt.id, tt.a, tt.by, tt.when); citadel.CodeOf(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	if after, _ := s.GetException(ctx, "exc-1"); !cmp.Equal(before, after) {
		t.Errorf("refused decisions changed exc-1:\n%s", cmp.Diff(before, after))
	}

	// Revoke one, expire the other by time: both leave the approved partition.
	if _, err := decide("exc-2", citadel.ExceptionRevoke, "req", at(3)); err != nil {
		t.Fatal(err)
	}
	got, err := decide("exc-1", citadel.ExceptionExpire, citadel.ExceptionSweeper, t0.Add(10*day))
	if err != nil {
		t.Fatal(err)
	}
	want := []citadel.ExceptionTransition{
		{From: "", To: citadel.ExceptionRequested, By: "req", At: t0},
		{From: citadel.ExceptionRequested, To: citadel.ExceptionApproved, By: "rev", At: at(1), Note: "approve"},
		{From: citadel.ExceptionApproved, To: citadel.ExceptionExpired, By: citadel.ExceptionSweeper, At: t0.Add(10 * day), Note: "expire"},
	}
	stored, _ := s.GetException(ctx, "exc-1")
	if d := cmp.Diff(want, stored.History); d != "" || stored.Status != citadel.ExceptionExpired || !cmp.Equal(got, stored) {
		t.Errorf("expired exc-1: status %s, history (-want +got):\n%s", stored.Status, d)
	}
	if d := cmp.Diff([]string{}, expiring(citadel.ExceptionApproved, t0.Add(365*day))); d != "" {
		t.Errorf("approved after revoke and expiry (-want +got):\n%s", d)
	}
	for _, tt := range []struct {
		status citadel.ExceptionStatus
		want   []string
	}{{citadel.ExceptionExpired, []string{"exc-1"}}, {citadel.ExceptionRevoked, []string{"exc-2"}}, {citadel.ExceptionRejected, []string{"exc-3"}}} {
		page, err := s.ListExceptionsOfFolder(ctx, "f1", tt.status, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tt.want, ids(page.Items)); d != "" {
			t.Errorf("folder's %s (-want +got):\n%s", tt.status, d)
		}
	}
}

// Two decisions at once: one wins, the other is a conflict, and the
// history holds the winner's alone.
func TestConcurrentDecisionsOneWins(t *testing.T) {
	ctx := context.Background()
	s := testenv.Store(t)
	if err := s.CreateException(ctx, newException(t, "exc-1", "int-1", "s3_public", 10)); err != nil {
		t.Fatal(err)
	}
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := citadel.ExceptionApprove
			if i%2 == 1 {
				a = citadel.ExceptionReject
			}
			_, errs[i] = s.DecideException(ctx, "exc-1", citadel.ExceptionDecision{Action: a, By: fmt.Sprint("rev-", i), At: t0.Add(time.Hour)})
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !citadel.IsConflict(err):
			t.Errorf("decision %d: %v, want a conflict", i, err)
		}
	}
	e, err := s.GetException(ctx, "exc-1")
	if err != nil {
		t.Fatal(err)
	}
	if won != 1 || len(e.History) != 2 || e.Status != e.History[1].To || e.DecidedBy != e.History[1].By {
		t.Errorf("%d decisions won; stored %s by %s, history %+v", won, e.Status, e.DecidedBy, e.History)
	}

	// A decision made on a stale read (the status changed since) is refused
	// by the write's condition, not only by the state machine.
	if err := s.CreateException(ctx, newException(t, "exc-2", "int-1", "s3_public", 10)); err != nil {
		t.Fatal(err)
	}
	stale, _ := s.GetException(ctx, "exc-2")
	if _, err := s.DecideException(ctx, "exc-2", citadel.ExceptionDecision{Action: citadel.ExceptionReject, By: "rev-a", At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	late, err := stale.Decide(citadel.ExceptionDecision{Action: citadel.ExceptionApprove, By: "rev-b", At: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	err = s.WriteDecision(ctx, stale, late)
	if want := "exception exc-2 is rejected now, not requested: another decision came first (read it again)"; !citadel.IsConflict(err) || err.Error() != want {
		t.Errorf("stale write: %v", err)
	}
	if e, _ := s.GetException(ctx, "exc-2"); e.Status != citadel.ExceptionRejected || e.DecidedBy != "rev-a" {
		t.Errorf("the stale approval overwrote the rejection: %+v", e)
	}
	// The winner's expiry entry is in its status's partition alone.
	for _, status := range []citadel.ExceptionStatus{citadel.ExceptionRequested, citadel.ExceptionApproved} {
		page, err := s.ListExpiringExceptions(ctx, status, t0.Add(365*day), 10, "")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{}
		if status == citadel.ExceptionApproved && e.Status == citadel.ExceptionApproved {
			want = []string{"exc-1"}
		}
		if d := cmp.Diff(want, ids(page.Items)); d != "" {
			t.Errorf("%s expiring after the race, won by %s (-want +got):\n%s", status, e.Status, d)
		}
	}
}

// The items as stored: the keys docs/data-model.md names, and no TTL
// attribute (time must never delete an exception; the expiry is Expiry).
func TestExceptionItemsAsStored(t *testing.T) {
	ctx := context.Background()
	client, table := testenv.Table(t, testenv.Config(t))
	s := ddb.NewFromClient(client, table)
	e := newException(t, "exc-1", "int-1", "s3_public", 10)
	if err := s.CreateException(ctx, e); err != nil {
		t.Fatal(err)
	}
	item := func(pk, sk string) map[string]string {
		t.Helper()
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
			ddb.AttrPK: &types.AttributeValueMemberS{Value: pk}, ddb.AttrSK: &types.AttributeValueMemberS{Value: sk}}})
		if err != nil || out.Item == nil {
			t.Fatalf("get %s / %s: %v (found: %v)", pk, sk, err, out != nil && out.Item != nil)
		}
		got := map[string]string{}
		for k, v := range out.Item {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				got[k] = sv.Value
			} else {
				got[k] = fmt.Sprintf("%T", v)
			}
		}
		return got
	}
	pick := func(m map[string]string, keys ...string) map[string]string {
		out := map[string]string{}
		for _, k := range keys {
			if v, ok := m[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	keys := []string{"Type", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "Expiry", "ExpiresAt", "Status"}
	for _, tt := range []struct {
		name   string
		pk, sk string
		want   map[string]string
	}{
		{"the exception", "EXC#exc-1", "EXC", map[string]string{"Type": "Exception", "GSI1PK": "INTEG#int-1#EXCS", "GSI1SK": "requested#s3_public#exc-1",
			"GSI2PK": "FOLDER#f1#EXCS", "GSI2SK": "requested#exc-1", "Expiry": "2026-12-09T12:00:00Z", "Status": "requested"}},
		{"its expiry entry", "EXCS#requested#EXPIRY", "2026-12-09T12:00:00.000000000Z#exc-1", map[string]string{"Type": "ExceptionExpiry", "Expiry": "2026-12-09T12:00:00Z"}},
	} {
		if d := cmp.Diff(tt.want, pick(item(tt.pk, tt.sk), keys...)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}
