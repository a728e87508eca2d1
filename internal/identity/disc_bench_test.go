package identity

import (
	"os"
	"path/filepath"
	"testing"

	"mediagate/internal/testbed"
)

// BenchmarkDiscSignature times the whole-disc identity of full-size sparse images with
// many files (testbed.MakeLargeISO): a CD of about 700 MB with 20,000 files in 200
// directories and a DVD of about 4.5 GB with 100,000 files in 1,000 directories. The
// image is in the page cache after the first run; a real drive adds its seek time
// for each of the DiscSamples reads (see docs/security.md).
func BenchmarkDiscSignature(b *testing.B) {
	for _, c := range []struct {
		name              string
		dirs, files       int
		fileSize          int64
		wantDirs, wantRec int
	}{
		{"CD-700MB-20k-files", 200, 100, 35_000, 201, 20_200},
		{"DVD-4.5GB-100k-files", 1000, 100, 44_000, 1001, 101_000},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "disc.iso")
			if err := testbed.MakeLargeISO(path, "BENCH", c.dirs, c.files, c.fileSize); err != nil {
				b.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			b.ReportMetric(float64(st.Size())/1e6, "MB")
			b.ResetTimer()
			for b.Loop() {
				d, err := DiscSignature(f, st.Size(), testDiscKey)
				if err != nil || d.Directories != c.wantDirs || d.Records != c.wantRec {
					b.Fatalf("%+v, %v", d, err)
				}
			}
		})
	}
}
