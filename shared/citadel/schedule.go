package citadel

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultMinScheduleInterval is the shortest time a deployment allows
// between two scheduled scans of one integration, unless it sets another
// (EnvMinScheduleInterval, from the CDK context minScheduleInterval).
const DefaultMinScheduleInterval = time.Hour

// ParseMinScheduleInterval reads a deployment's minimum schedule interval:
// a Go duration of at least a minute (EventBridge Scheduler's finest rate);
// empty is DefaultMinScheduleInterval.
func ParseMinScheduleInterval(s string) (time.Duration, error) {
	if s == "" {
		return DefaultMinScheduleInterval, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, Invalid("minimum schedule interval %q must be a duration of at least 1m (e.g. 1h, 6h, 24h)", s)
	}
	return d, nil
}

// ScheduleInterval is the shortest time between two runs of a schedule
// expression that ValidScheduleExpression accepts: N units for rate(N
// unit); for cron(minutes hours day-of-month month day-of-week year), the
// smallest gap between two of its minutes (when it names several), else
// between two of its hours, else a day (the day fields only thin a daily
// schedule out).
func ScheduleInterval(expr string) (time.Duration, error) {
	if !ValidScheduleExpression(expr) || expr == "" {
		return 0, Invalid("schedule_expression %q must be rate(N unit) or cron(6 fields)", expr)
	}
	if body, ok := strings.CutPrefix(expr, "rate("); ok {
		n, unit, _ := strings.Cut(strings.TrimSuffix(body, ")"), " ")
		count, err := strconv.Atoi(n)
		if err != nil {
			return 0, Invalid("schedule_expression %q: %q is not a count", expr, n)
		}
		per := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(unit, "s")]
		return time.Duration(count) * per, nil
	}
	fields := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")"))
	minutes, err := cronValues(fields[0], 0, 59)
	if err != nil {
		return 0, Invalid("schedule_expression %q: minutes: %v", expr, err)
	}
	hours, err := cronValues(fields[1], 0, 23)
	if err != nil {
		return 0, Invalid("schedule_expression %q: hours: %v", expr, err)
	}
	switch {
	case len(minutes) > 1:
		return time.Duration(smallestGap(minutes, 60)) * time.Minute, nil
	case len(hours) > 1:
		return time.Duration(smallestGap(hours, 24)) * time.Hour, nil
	}
	return 24 * time.Hour, nil
}

// CheckScheduleInterval refuses a schedule that runs more often than min
// allows; no schedule is fine.
func CheckScheduleInterval(expr string, min time.Duration) error {
	if expr == "" {
		return nil
	}
	every, err := ScheduleInterval(expr)
	if err != nil {
		return err
	}
	if every < min {
		return Invalid("schedule_expression %q runs every %s; this deployment scans an integration at most every %s (its minScheduleInterval)",
			expr, every, min)
	}
	return nil
}

// cronValues expands one cron field of minutes or hours: *, ?, a number, a
// range a-b, a step x/n (x: *, a number or a range), or a list of those.
func cronValues(field string, lo, hi int) ([]int, error) {
	var out []int
	num := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
		}
		return n, nil
	}
	for _, part := range strings.Split(field, ",") {
		base, stepText, stepped := strings.Cut(part, "/")
		step := 1
		if stepped {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%q is not a step", stepText)
			}
			step = n
		}
		from, to := lo, hi
		switch a, b, isRange := strings.Cut(base, "-"); {
		case base == "*" || base == "?":
		case isRange:
			var err error
			if from, err = num(a); err != nil {
				return nil, err
			}
			if to, err = num(b); err != nil {
				return nil, err
			}
			if to < from {
				return nil, fmt.Errorf("range %q runs backwards", base)
			}
		default:
			n, err := num(base)
			if err != nil {
				return nil, err
			}
			from, to = n, n
			if stepped {
				to = hi
			}
		}
		for v := from; v <= to; v += step {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// smallestGap is the smallest distance between two of the sorted values on
// a clock of the given period (the last wraps round to the first).
func smallestGap(values []int, period int) int {
	gap := values[0] + period - values[len(values)-1]
	for i := 1; i < len(values); i++ {
		gap = min(gap, values[i]-values[i-1])
	}
	return gap
}
