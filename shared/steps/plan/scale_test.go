package plan_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/steps/plan"
)

// The scale model of docs/scale.md, driven through the real planner: an
// organization of 500 accounts × 17 regions with synthetic inventories,
// each account's shards planned by PlanShards from per-unit durations the
// model gives, the state machines' payloads built as the steps build them,
// and the quotas the design meets checked. The figures it logs are the
// tables of docs/scale.md (go test -run TestScaleModel -v ./shared/steps/plan/).

// scaleModel is the model's inputs; docs/scale.md says where each comes
// from (measured on moto, or public).
type scaleModel struct {
	accounts, regions int
	// Inventory: resources per account, log-normal around median, at most
	// maxResources; the share in the first two regions; the share of
	// global (IAM, Organizations, edge) resources.
	median, sigma, maxResources float64
	primary, secondary, global  float64
	// Prowler: seconds a check costs in one region with nothing to look
	// at (its API calls), seconds per resource and check group.
	checkSeconds, resourceSeconds float64
	// Findings per resource (the checks that apply to it), and per check
	// and region with no resource (Prowler's "no resources" findings are
	// not results: counted apart).
	findingsPerResource float64
	// Concurrency: accounts at once (orgScanConcurrency) and shards at
	// once in an account (prowlerShardConcurrency).
	orgConcurrency, shardConcurrency int
	// Fargate task size (infra/prowlertask.go) and a task's start before
	// Prowler runs (image pull, ENI).
	taskVCPU, taskGB, taskStartSeconds float64
}

var model500x17 = scaleModel{
	accounts: 500, regions: 17,
	median: 800, sigma: 1.4, maxResources: 120_000,
	primary: 0.6, secondary: 0.25, global: 0.05,
	checkSeconds: 0.3, resourceSeconds: 0.02,
	findingsPerResource: 3,
	orgConcurrency:      10, shardConcurrency: 10,
	taskVCPU: 2, taskGB: 8, taskStartSeconds: 60,
}

// Prices, us-east-1, from AWS's public price pages (docs/scale.md, with
// the date): Fargate Linux/ARM per vCPU-hour and GB-hour, Lambda arm64 per
// GB-second and request, Step Functions Standard per state transition,
// DynamoDB on demand per write and read request unit.
const (
	priceVCPUHour    = 0.03238
	priceGBHour      = 0.00356
	priceLambdaGBs   = 0.0000133334
	priceLambdaReq   = 0.20 / 1e6
	priceTransition  = 0.025 / 1000
	priceWriteUnit   = 0.625 / 1e6
	priceReadUnit    = 0.125 / 1e6
	firstScanWCU     = 3.02  // per finding, BenchmarkScanUsage
	rescanWCU        = 0.021 // per finding, an unchanged rescan
	payloadCap       = 256 << 10
	inlineMapCap     = 40  // an inline Map's effective concurrency
	fargateBurst     = 100 // task launch tokens (refill 20/s): a rate, not a cap
	partitionWCU     = 1000
	startExecutionsS = 150 // StartExecution refill per second (Standard)
)

// account is one synthetic account: its units' recorded durations and
// resources.
type account struct {
	resources float64
	previous  citadel.ShardDurations
}

// synthesize draws the organization's accounts (a fixed seed: the same
// organization every run) and gives each unit of the catalog's groups its
// duration under the model.
func (m scaleModel) synthesize(t *testing.T, checks []citadel.SecurityCheck, regions []string) []account {
	t.Helper()
	groupChecks := map[string]int{}
	global := map[string]bool{}
	for _, c := range checks {
		g, isGlobal := citadel.ShardGroupOf(c.Service)
		groupChecks[g]++
		global[g] = isGlobal
	}
	var regionalChecks, globalChecks float64
	for g, n := range groupChecks {
		if global[g] {
			globalChecks += float64(n)
		} else {
			regionalChecks += float64(n)
		}
	}
	rng := rand.New(rand.NewPCG(500, 17))
	out := make([]account, m.accounts)
	for i := range out {
		res := math.Min(m.maxResources, m.median*math.Exp(m.sigma*rng.NormFloat64()))
		a := account{resources: res, previous: citadel.ShardDurations{}}
		for g, n := range groupChecks {
			if global[g] {
				share := float64(n) / globalChecks
				u := citadel.ShardUnit{Region: citadel.ShardGlobalRegion, Group: g}
				a.previous[u.Key()] = float64(n)*m.checkSeconds + res*m.global*share*m.resourceSeconds
				continue
			}
			share := float64(n) / regionalChecks
			for ri, r := range regions {
				in := (1 - m.primary - m.secondary - m.global) / float64(len(regions)-2)
				switch ri {
				case 0:
					in = m.primary
				case 1:
					in = m.secondary
				}
				u := citadel.ShardUnit{Region: r, Group: g}
				a.previous[u.Key()] = float64(n)*m.checkSeconds + res*in*share*m.resourceSeconds
			}
		}
		out[i] = a
	}
	return out
}

// makespan is the wall time of jobs run `slots` at a time, longest first.
func makespan(jobs []float64, slots int) float64 {
	jobs = slices.Clone(jobs)
	slices.SortFunc(jobs, func(a, b float64) int { return cmp.Compare(b, a) })
	free := make([]float64, slots)
	for _, j := range jobs {
		i := slices.Index(free, slices.Min(free))
		free[i] += j
	}
	return slices.Max(free)
}

func TestScaleModel(t *testing.T) {
	m := model500x17
	checks := realMapped(t)
	regions := seventeen[:m.regions]
	accounts := m.synthesize(t, checks, regions)
	limits := plan.DefaultShardLimits

	var (
		shardsAll, transitions                 int
		taskSeconds, findings, maxPlanBytes    float64
		accountWalls, shardCounts, maxShardEst []float64
	)
	for i, a := range accounts {
		shards, err := plan.PlanShards(checks, regions, a.previous, limits)
		if err != nil {
			t.Fatalf("account %d: %v", i, err)
		}
		if len(shards) > limits.MaxShards || len(shards) > inlineMapCap {
			t.Fatalf("account %d: %d shards, over the Map's %d", i, len(shards), inlineMapCap)
		}
		// The plan's output as the plan step writes it: small shards,
		// keys under the scan's prefix.
		out := citadel.PlanOutput{ScanID: "scan-06h3qzy0hfn57926vmm4m9yemm", IntegrationID: "int-123456789012-0123456789abcdef0123",
			Regions: regions, RegionsArg: strings.Join(regions, " "), ShardsKey: citadel.ScanObjectKey("scan-06h3qzy0hfn57926vmm4m9yemm", citadel.ShardsFileName)}
		var durations []float64
		longest := 0.0
		for _, s := range shards {
			sh := s.Shard
			prefix := citadel.ShardPrefix(out.ScanID, sh.ID)
			sh.ChecksKey, sh.OCSFKey, sh.ManifestKey = prefix+citadel.ChecksFileName, prefix+citadel.OCSFFileName, prefix+citadel.ManifestName
			out.Shards = append(out.Shards, sh)
			d := sh.EstimatedSeconds + m.taskStartSeconds
			durations = append(durations, d)
			taskSeconds += math.Max(d, 60) // Fargate bills a minute at least
			longest = math.Max(longest, sh.EstimatedSeconds)
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		maxPlanBytes = math.Max(maxPlanBytes, float64(len(b)))
		shardsAll += len(shards)
		shardCounts = append(shardCounts, float64(len(shards)))
		maxShardEst = append(maxShardEst, longest)
		// The account's wall: its shards 10 at a time, and the Lambda
		// steps (asset sync per region at once, check results' two passes).
		f := a.resources * m.findingsPerResource
		findings += f
		accountWalls = append(accountWalls, makespan(durations, m.shardConcurrency)+30+f*0.002)
		transitions += 12 + 4*len(shards) // plan … finalize, outcome; per shard: iteration, RunTask, outcome Pass, Map bookkeeping
	}
	transitions += 6 + 4*m.accounts // the organization: org-plan, org-sync, per member org-member, choice, child, result; summary, outcome
	orgWall := makespan(accountWalls, m.orgConcurrency)

	// The organization's payloads: the sync's ids and the Map's results.
	ids := make([]string, m.accounts)
	results := make([]citadel.OrgMemberResult, m.accounts)
	for i := range ids {
		ids[i] = citadel.MemberIntegrationID("int-06h3qzy0hfn57926vmm4m9yemm", fmt.Sprintf("%012d", 200000000000+i))
		results[i] = citadel.OrgMemberResult{IntegrationID: ids[i], Status: citadel.MemberScanned}
	}
	syncBytes, _ := json.Marshal(citadel.OrgSyncOutput{Scan: ids})
	resBytes, _ := json.Marshal(results)
	perAccount := float64(len(syncBytes)+len(resBytes)) / float64(m.accounts)
	if len(syncBytes)+len(resBytes) >= payloadCap {
		t.Errorf("the organization's state: %d bytes, over %d", len(syncBytes)+len(resBytes), payloadCap)
	}
	inlineMax := int(payloadCap * 0.9 / perAccount) // 10% for the rest of the state

	// At most this many tasks at once (each account runs at most
	// shardConcurrency of its shards).
	tasks := m.orgConcurrency * m.shardConcurrency
	if maxPlanBytes >= payloadCap/2 {
		t.Errorf("largest plan output %.0f bytes: too near the %d cap", maxPlanBytes, payloadCap)
	}

	vcpuS, gbS := taskSeconds*m.taskVCPU, taskSeconds*m.taskGB
	fargate := vcpuS/3600*priceVCPUHour + gbS/3600*priceGBHour
	// Lambda: per account plan 1 s × 0.5 GB, asset sync 20 s + 5 ms a
	// resource × 1.77 GB, check results 0.4 ms a finding × 1.77 GB,
	// controls, policies, evidence and finalize ~15 GB-s; the organization's
	// steps ~2 GB-s a member.
	var lambdaGBs float64
	for _, a := range accounts {
		f := a.resources * m.findingsPerResource
		lambdaGBs += 0.5 + 1.769*(20+a.resources*0.005) + 1.769*(5+f*0.0004) + 15 + 2
	}
	invocations := float64(m.accounts * 10)
	wcuFirst, wcuRescan := findings*firstScanWCU, findings*rescanWCU
	costFirst := fargate + lambdaGBs*priceLambdaGBs + invocations*priceLambdaReq + float64(transitions)*priceTransition + wcuFirst*priceWriteUnit + findings*priceReadUnit
	costRescan := fargate + lambdaGBs*priceLambdaGBs + invocations*priceLambdaReq + float64(transitions)*priceTransition + wcuRescan*priceWriteUnit + findings*0.1*priceReadUnit

	var largest, resAll float64
	for _, a := range accounts {
		largest = math.Max(largest, a.resources)
		resAll += a.resources
	}
	slices.Sort(shardCounts)
	slices.Sort(accountWalls)
	t.Logf("organization: %d accounts × %d regions, %d mapped checks; %.0f resources (median account %.0f, largest %.0f)",
		m.accounts, m.regions, len(checks), resAll, m.median, largest)
	t.Logf("shards: %d in all; per account min %.0f, median %.0f, max %.0f (cap %d); longest shard estimate %s",
		shardsAll, shardCounts[0], shardCounts[len(shardCounts)/2], shardCounts[len(shardCounts)-1], limits.MaxShards,
		time.Duration(slices.Max(maxShardEst)*float64(time.Second)).Round(time.Second))
	t.Logf("wall: account median %s, longest %s; organization %s (%d accounts at once, %d shards each: %d tasks)",
		dur(accountWalls[len(accountWalls)/2]), dur(accountWalls[len(accountWalls)-1]), dur(orgWall), m.orgConcurrency, m.shardConcurrency, tasks)
	t.Logf("Fargate: %.0f vCPU-s, %.0f GB-s ($%.2f); Lambda: %.0f GB-s ($%.2f), %.0f invocations; state transitions %d ($%.2f)",
		vcpuS, gbS, fargate, lambdaGBs, lambdaGBs*priceLambdaGBs+invocations*priceLambdaReq, invocations, transitions, float64(transitions)*priceTransition)
	t.Logf("DynamoDB: %.0f findings; first scan %.0f write units ($%.2f), unchanged rescan %.0f ($%.2f)",
		findings, wcuFirst, wcuFirst*priceWriteUnit, wcuRescan, wcuRescan*priceWriteUnit)
	t.Logf("cost per organization scan: first $%.2f, unchanged rescan $%.2f ($%.4f and $%.4f per 1,000 resources)",
		costFirst, costRescan, costFirst/resAll*1000, costRescan/resAll*1000)
	t.Logf("payloads: largest plan output %.1f KB; organization state %.1f KB (%.0f B an account: an inline Map holds ~%d accounts, a Distributed Map beyond)",
		maxPlanBytes/1024, float64(len(syncBytes)+len(resBytes))/1024, perAccount, inlineMax)
	t.Logf("largest account's first check-results: %.0f write units on one results partition, %s at %d WCU/s before DynamoDB splits it",
		largest*m.findingsPerResource*firstScanWCU, dur(largest*m.findingsPerResource*firstScanWCU/partitionWCU), partitionWCU)
	t.Logf("StartExecution: %d child executions, at most %d a second (refill %d/s); RunTask: at most %d tasks at once (burst %d, refill 20/s)",
		m.accounts, m.orgConcurrency, startExecutionsS, tasks, fargateBurst)

	// More accounts at once, as long as the tasks fit Fargate's launch
	// bucket: each account runs min(its shards, shardConcurrency) tasks.
	for _, c := range []int{10, 25, 40} {
		peak := c * min(int(shardCounts[len(shardCounts)-1]), m.shardConcurrency)
		launch := math.Max(0, float64(peak-fargateBurst)) / 20
		t.Logf("orgScanConcurrency %d: organization %s, at most %d tasks at once (%d vCPU of the region's Fargate quota), launched within %.0f s",
			c, dur(makespan(accountWalls, c)), peak, peak*int(m.taskVCPU), launch)
		if launch > 60 {
			t.Errorf("orgScanConcurrency %d: %d tasks take %.0f s of launch tokens", c, peak, launch)
		}
	}

	// An inline Map's iterations are events of the parent's history,
	// which Step Functions caps at 25,000: a member's item is ~17 events
	// (iteration start and end, org-member's 5, the choice's 2, the child
	// execution's 6, the result Pass's 2), an account's shard ~10.
	const historyCap, memberEvents, shardEvents, ownEvents = 25000, 17, 10, 40
	orgEvents := ownEvents + memberEvents*m.accounts
	historyMax := (historyCap - ownEvents) / memberEvents
	t.Logf("execution history: organization %d events of %d (an inline Map's history holds ~%d accounts); an account's at most %d",
		orgEvents, historyCap, historyMax, ownEvents+shardEvents*int(shardCounts[len(shardCounts)-1]))
	if historyMax < citadel.MaxOrgScanAccounts {
		t.Errorf("an inline Map's history holds ~%d accounts: under citadel.MaxOrgScanAccounts (%d), which org sync admits", historyMax, citadel.MaxOrgScanAccounts)
	}
	if orgEvents >= historyCap {
		t.Errorf("the organization's execution history: %d events, over %d", orgEvents, historyCap)
	}

	if inlineMax < m.accounts {
		t.Errorf("an inline Map holds ~%d accounts: under the model's %d", inlineMax, m.accounts)
	}
	if orgWall > 24*3600 {
		t.Errorf("the organization scan takes %s: over a day", dur(orgWall))
	}
}

func dur(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}
