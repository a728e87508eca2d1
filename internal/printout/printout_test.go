package printout

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQR: a code's PNG has the asked size, different numbers give different codes,
// and zbarimg (when installed) reads the number back from the PNG.
func TestQR(t *testing.T) {
	a, err := QR("S-2026-0001")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := QR("S-2026-0002")
	if len(a) == 0 || len(a) != len(a[0]) {
		t.Fatalf("matrix %dx?", len(a))
	}
	same := len(a) == len(b)
	for y := 0; same && y < len(a); y++ {
		for x := range a[y] {
			if a[y][x] != b[y][x] {
				same = false
			}
		}
	}
	if same {
		t.Error("two numbers give the same code")
	}
	// The finder pattern's corner module is dark, its quiet zone light.
	q := 4 // skip2/go-qrcode's quiet zone
	if !a[q][q] || a[q-1][q-1] {
		t.Error("no finder pattern at the top left")
	}
	img, err := QRPNG("S-2026-0001", 256)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width != 256 || cfg.Height != 256 {
		t.Fatalf("png %+v %v", cfg, err)
	}
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg (zbar-tools) is not installed: the code is not read back")
	}
	for _, n := range []string{"S-2026-0001", "TS-2019-0042", "机密-2026-7"} {
		img, err := QRPNG(n, 256)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "qr.png")
		os.WriteFile(path, img, 0o644)
		out, err := exec.Command(zbar, "--quiet", "--raw", path).Output()
		if err != nil || strings.TrimSpace(string(out)) != n {
			t.Errorf("zbarimg read %q (%v), want %q", out, err, n)
		}
	}
}

// TestLayoutsFitA4: every layout's stickers fit on the sheet.
func TestLayoutsFitA4(t *testing.T) {
	for _, l := range Layouts {
		w := l.Left + float64(l.Cols)*l.Width + float64(l.Cols-1)*l.GapX
		h := l.Top + float64(l.Rows)*l.Height + float64(l.Rows-1)*l.GapY
		if w > 210 || h > 297 {
			t.Errorf("%s: %.1f×%.1f mm, more than A4", l.Name, w, h)
		}
		if got, ok := FindLayout(strings.ReplaceAll(l.Name, "x", "×")); !ok || got.Name != l.Name {
			t.Errorf("FindLayout(%s)", l.Name)
		}
	}
}

func TestWriteLabelsPages(t *testing.T) {
	l, _ := FindLayout("3x8")
	var labels []Label
	for i := range 30 {
		labels = append(labels, Label{Number: "S-2026-" + string(rune('A'+i%26)), Level: "机密", Custodian: "<张三>"})
	}
	var b bytes.Buffer
	if err := WriteLabels(&b, LabelSheet{Lang: "zh", Layout: l, Labels: labels, CustodianLabel: "责任人："}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if n := strings.Count(s, `<div class="page">`); n != 2 {
		t.Errorf("%d pages for 30 labels of 24 a page", n)
	}
	if n := strings.Count(s, `<svg class="qr"`); n != 30 {
		t.Errorf("%d codes", n)
	}
	if strings.Contains(s, "<张三>") || !strings.Contains(s, "&lt;张三&gt;") {
		t.Error("a name is not escaped")
	}
}

func TestCSSQuote(t *testing.T) {
	for in, want := range map[string]string{
		"机密★":       `"机密★"`,
		"Page ":     `"Page "`,
		`"; } x {`:  `"\000022\00003b \00007d x \00007b"`,
		"a\\b\n</s": `"a\00005cb\00000a\00003c\00002fs"`,
	} {
		if got := cssQuote(in); got != want {
			t.Errorf("cssQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
