package citadel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
)

func TestScheduleInterval(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want time.Duration
		err  string
	}{
		{"rate(1 minute)", time.Minute, ""},
		{"rate(30 minutes)", 30 * time.Minute, ""},
		{"rate(1 hour)", time.Hour, ""},
		{"rate(2 days)", 48 * time.Hour, ""},
		{"cron(0 3 * * ? *)", 24 * time.Hour, ""},
		{"cron(15 * * * ? *)", time.Hour, ""},
		{"cron(0 */6 * * ? *)", 6 * time.Hour, ""},
		{"cron(0 1,13 ? * MON-FRI *)", 12 * time.Hour, ""},
		{"cron(0 22,2 * * ? *)", 4 * time.Hour, ""}, // round midnight
		{"cron(0 8-10 * * ? *)", time.Hour, ""},
		{"cron(*/5 * * * ? *)", 5 * time.Minute, ""},
		{"cron(0,30 9 * * ? *)", 30 * time.Minute, ""},
		{"cron(10/20 * * * ? *)", 20 * time.Minute, ""}, // 10, 30, 50
		{"cron(* * * * ? *)", time.Minute, ""},
		{"", 0, "must be rate(N unit) or cron(6 fields)"},
		{"rate(1 week)", 0, "must be rate(N unit)"},
		{"cron(61 * * * ? *)", 0, `minutes: "61" is not a number from 0 to 59`},
		{"cron(0 5-2 * * ? *)", 0, `hours: range "5-2" runs backwards`},
		{"cron(0 */0 * * ? *)", 0, `hours: "0" is not a step`},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := citadel.ScheduleInterval(tc.expr)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !citadel.IsInvalid(err) {
					t.Fatalf("got %s, %v; want an invalid error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestCheckScheduleInterval(t *testing.T) {
	if err := citadel.CheckScheduleInterval("", time.Hour); err != nil {
		t.Errorf("no schedule: %v", err)
	}
	if err := citadel.CheckScheduleInterval("rate(1 hour)", time.Hour); err != nil {
		t.Errorf("hourly at the default: %v", err)
	}
	err := citadel.CheckScheduleInterval("cron(*/15 * * * ? *)", time.Hour)
	want := `schedule_expression "cron(*/15 * * * ? *)" runs every 15m0s; this deployment scans an integration at most every 1h0m0s`
	if err == nil || !citadel.IsInvalid(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("every 15 minutes: %v, want %q", err, want)
	}
	if err := citadel.CheckScheduleInterval("rate(12 hours)", 24*time.Hour); err == nil {
		t.Error("twice a day where the deployment allows daily: accepted")
	}
}

func TestParseMinScheduleInterval(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", citadel.DefaultMinScheduleInterval, true},
		{"6h", 6 * time.Hour, true},
		{"1m", time.Minute, true},
		{"30s", 0, false},
		{"hourly", 0, false},
		{"-1h", 0, false},
	} {
		got, err := citadel.ParseMinScheduleInterval(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("%q: %s, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "at least 1m") {
			t.Errorf("%q: %v does not say what is allowed", tc.in, err)
		}
	}
}
