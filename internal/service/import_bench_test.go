package service_test

import (
	"fmt"
	"strings"
	"testing"

	"mediagate/internal/service"
	"mediagate/internal/sheet"
)

// benchRegister is an office register of n media: a third with VID and PID, the rest
// pending.
func benchRegister(n int) string {
	var b strings.Builder
	b.WriteString(importHeader)
	for i := range n {
		vid, pid := "", ""
		if i%3 == 0 {
			vid, pid = "0781", "5567"
		}
		fmt.Fprintf(&b, "S-2019-%04d,机密,U盘,SN%08X,%s,%s,zhang,,2019-03-01,在用\n", i+1, i*7919+1, vid, pid)
	}
	return b.String()
}

// BenchmarkImport measures the import of 1,000 media: the dry run (every row decided)
// and the real import (one transaction) into an empty register.
func BenchmarkImport(b *testing.B) {
	text := benchRegister(1000)
	tab, err := sheet.Read([]byte(text), sheet.DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	cols, err := sheet.MapColumns(tab, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("dry-run-1000", func(b *testing.B) {
		bd := newBed(b)
		for b.Loop() {
			if _, err := bd.svc.Import(bd.ctx, service.ImportRequest{Table: tab, Columns: cols, DryRun: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("import-1000", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			bd := newBed(b)
			b.StartTimer()
			rep, err := bd.svc.Import(bd.ctx, service.ImportRequest{Table: tab, Columns: cols})
			if err != nil || rep.Registered+rep.Pending != 1000 {
				b.Fatalf("%+v %v", rep.Errors, err)
			}
		}
	})
}
