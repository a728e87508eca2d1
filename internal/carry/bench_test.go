package carry

import (
	"testing"
	"time"
)

// BenchmarkLogFile seals a log file of MaxLogRows rows (what one trip carries at
// most) and opens it as the office does (signature, decode, chain); it reports the
// file's size.
func BenchmarkLogFile(b *testing.B) {
	pub, priv := testKey(b, 1)
	rows := chain(b, MaxLogRows)
	var size int
	for b.Loop() {
		batch, err := NewLogBatch("HOST-09", 0, rows, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		f, err := Seal(KindLog, batch, priv, nil)
		if err != nil {
			b.Fatal(err)
		}
		size = len(f)
		if err := openLog(f, pub); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB/file")
}
