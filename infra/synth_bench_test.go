package main

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkSynth measures one synthesis of both stacks with the cdk-nag
// checks on, as `make synth` runs it (less the CLI and the Go build).
func BenchmarkSynth(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s := synth(b, nil)
		b.StopTimer()
		if err := os.RemoveAll(filepath.Dir(s.outDir)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
