package citadel_test

import (
	"regexp"
	"testing"

	"github.com/citadelsecure/citadel/shared/citadel"
)

// The exported patterns are the rules the validators apply: each function
// and its pattern agree on good and bad values.
func TestPatternsAreTheValidatorsRules(t *testing.T) {
	id := regexp.MustCompile(citadel.PatternID)
	for _, s := range []string{"int-1", "a.b_c-D9", "", "a#b", "a/b", "é", string(make([]byte, 129))} {
		if id.MatchString(s) != citadel.ValidID(s) {
			t.Errorf("PatternID and ValidID disagree on %q", s)
		}
	}
	ra := citadel.RequirementAssessmentID("folder-1", "cis_2.0_aws:1.1")
	for _, s := range []string{ra, "ra-0123", "ra-" + "0123456789abcdef0123", "ra-0123456789ABCDEF0123", "x" + ra} {
		if regexp.MustCompile(citadel.PatternAssessmentID).MatchString(s) != citadel.ValidAssessmentID(s) {
			t.Errorf("PatternAssessmentID and ValidAssessmentID disagree on %q", s)
		}
	}
	if !citadel.ValidAssessmentID(ra) {
		t.Errorf("RequirementAssessmentID %q does not match PatternAssessmentID", ra)
	}
	sched := regexp.MustCompile(citadel.PatternOptionalScheduleExpression)
	for _, tc := range []struct {
		expr string
		ok   bool
	}{
		{"rate(1 day)", true}, {"rate(15 minutes)", true}, {"cron(0 3 * * ? *)", true}, {"cron(0/5 8-17 ? * MON-FRI *)", true},
		{"cron(0 3 * * ?)", false}, {"rate(1 week)", false}, {"rate(1234567890 days)", false}, {"rate(0 days)", false}, {"rate(01 day)", false}, {"cron(0 3 * * ? *)\n", false},
		{"cron(０ 3 * * ? *)", false}, {"rate(١ day)", false},
	} {
		if citadel.ValidScheduleExpression(tc.expr) != tc.ok {
			t.Errorf("ValidScheduleExpression(%q) = %v, want %v", tc.expr, !tc.ok, tc.ok)
		}
		if sched.MatchString(tc.expr) != tc.ok {
			t.Errorf("PatternOptionalScheduleExpression on %q = %v, want %v", tc.expr, !tc.ok, tc.ok)
		}
	}
	if !sched.MatchString("") || citadel.ValidScheduleExpression("") {
		t.Error(`"" is no schedule: the optional pattern takes it, ValidScheduleExpression does not`)
	}
	for _, s := range []string{"cis_2.0_aws", "soc2", "Soc2", "_x", ""} {
		if regexp.MustCompile(citadel.PatternFrameworkID).MatchString(s) != citadel.ValidFrameworkID(s) {
			t.Errorf("PatternFrameworkID and ValidFrameworkID disagree on %q", s)
		}
	}
}
