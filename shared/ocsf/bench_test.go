package ocsf_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/citadelsecure/citadel/shared/ocsf"
	"github.com/citadelsecure/citadel/shared/ocsf/ocsftest"
)

// BenchFile returns a generated OCSF file of n findings in the temp folder,
// generating it on first use (it is never part of the repository).
func benchFile(tb testing.TB, n int) (string, int64) {
	tb.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("citadel-ocsf-bench-%d.json", n))
	if st, err := os.Stat(path); err == nil {
		return path, st.Size()
	}
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		tb.Fatal(err)
	}
	size, err := ocsftest.Write(f, n, ocsftest.Standard("123456789012"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	return path, size
}

func countFindings(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := ocsf.NewReader(f)
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		var p *ocsf.Problem
		if errors.As(err, &p) {
			return n, p
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// TestParseHelper is the child process the benchmark measures peak memory
// of; it does nothing in a normal test run.
func TestParseHelper(t *testing.T) {
	path := os.Getenv("OCSF_BENCH_PARSE")
	if path == "" {
		t.Skip("benchmark helper")
	}
	n, err := countFindings(path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("findings", n)
}

// peak runs a command and returns its wall time and peak RSS in MB.
func peak(cmd *exec.Cmd) (time.Duration, float64, error) {
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return d, 0, fmt.Errorf("%v: %s", err, out[max(0, len(out)-300):])
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return d, float64(ru.Maxrss) / 1024, nil
}

// BenchmarkRead measures the streaming reader on generated Prowler-shaped
// files of 10k, 100k and 1M findings, its peak RSS in a child process, and
// Python's json.load on the same file (capped at 6 GB of address space).
func BenchmarkRead(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			path, size := benchFile(b, n)
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				got, err := countFindings(path)
				if err != nil || got != n {
					b.Fatalf("read %d findings, %v", got, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(size)/1e6, "file-MB")

			child := exec.Command(os.Args[0], "-test.run=^TestParseHelper$", "-test.count=1")
			child.Env = append(os.Environ(), "OCSF_BENCH_PARSE="+path)
			if _, rss, err := peak(child); err == nil {
				b.ReportMetric(rss, "go-peak-MB")
			} else {
				b.Logf("go child: %v", err)
			}
			py := exec.Command("prlimit", "--as=6442450944", "python3", "-c", "import json,sys; json.load(open(sys.argv[1]))", path)
			d, rss, err := peak(py)
			if err != nil {
				b.Logf("python json.load: %v", err)
				b.ReportMetric(-1, "py-MB/s")
				return
			}
			b.ReportMetric(float64(size)/1e6/d.Seconds(), "py-MB/s")
			b.ReportMetric(rss, "py-peak-MB")
		})
	}
}
