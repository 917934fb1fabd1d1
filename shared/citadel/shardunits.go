package citadel

import "math"

// UnitDurations shares a shard's measured seconds (its manifest's
// DurationSeconds) among its units by their number of checks (UnitChecks),
// what the next plan reads back (ShardDurations). A unit without checks, a
// shard without UnitChecks or a duration that is not a number of seconds
// gives nothing.
func (s PlannedShard) UnitDurations(seconds float64) ShardDurations {
	total := 0
	for _, n := range s.UnitChecks {
		total += max(n, 0)
	}
	if total == 0 || seconds < 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		return ShardDurations{}
	}
	out := make(ShardDurations, len(s.UnitChecks))
	for key, n := range s.UnitChecks {
		if n > 0 {
			out[key] = math.Round(seconds*float64(n)/float64(total)*10) / 10
		}
	}
	return out
}
