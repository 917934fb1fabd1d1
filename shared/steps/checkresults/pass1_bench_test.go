package checkresults

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/citadel"
	"github.com/citadelsecure/citadel/shared/digest"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
)

// BenchmarkPass1 measures what one Lambda holds for a file: the active
// assets' index, pass 1 over the file (validation, matching, hashing) and
// the sort, for 100k and 1M findings read from disk. It reports the peak
// Go heap, sampled.
func BenchmarkPass1(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			const account = "123456789012"
			path := filepath.Join(os.TempDir(), fmt.Sprintf("citadel-ocsf-bench-%d.json", n))
			if _, err := os.Stat(path); err != nil {
				f, err := os.Create(path + ".part")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ocsftest.Write(f, n, ocsftest.Standard(account)); err != nil {
					b.Fatal(err)
				}
				f.Close()
				if err := os.Rename(path+".part", path); err != nil {
					b.Fatal(err)
				}
			}
			st, _ := os.Stat(path)
			b.SetBytes(st.Size())
			spec := ocsftest.Standard(account)
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				var peak atomic.Uint64
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					var ms runtime.MemStats
					for {
						runtime.ReadMemStats(&ms)
						if ms.HeapAlloc > peak.Load() {
							peak.Store(ms.HeapAlloc)
						}
						select {
						case <-stop:
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
				}()
				r := &run{h: &Handler{}, plan: citadel.PlanOutput{ScanID: "scan-1", IntegrationID: "int-1", AccountID: account},
					checkIdx: map[string]uint16{}, seen: map[digest.Key]int32{}, known: map[string]bool{}, assets: map[digest.Asset]uint16{}, regions: []string{""}}
				for _, c := range ocsftest.Checks {
					r.known[c] = true
				}
				for j := 0; j < n/len(ocsftest.Checks)+1; j++ {
					arn := spec(j * len(ocsftest.Checks)).UIDs[0]
					id, _ := digest.ParseAsset(citadel.AssetID("int-1", citadel.SourceAWS, arn))
					r.assets[id] = 0
				}
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.pass1(&file{ocsfKey: path}, f); err != nil {
					b.Fatal(err)
				}
				f.Close()
				r.sortEntries()
				close(stop)
				<-done
				if len(r.entries) != n || r.out.MalformedFindings != 0 {
					b.Fatalf("%d results, %+v", len(r.entries), r.out)
				}
				b.ReportMetric(float64(peak.Load()-base.HeapAlloc)/(1<<20), "peak-heap-MB")
				runtime.KeepAlive(r)
			}
		})
	}
}
