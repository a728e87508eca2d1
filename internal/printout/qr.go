package printout

import (
	"fmt"
	"html/template"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QR is the module matrix of a QR code (true is dark), quiet zone included.
func QR(text string) ([][]bool, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr code of %q: %w", text, err)
	}
	return q.Bitmap(), nil
}

// QRPNG is a QR code of text as a PNG image of size×size pixels.
func QRPNG(text string, size int) ([]byte, error) {
	b, err := qrcode.Encode(text, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("qr code of %q: %w", text, err)
	}
	return b, nil
}

// qrSVG draws a matrix as an inline SVG of one path, scaled to its box: sharp at
// any print resolution and with nothing to load.
func qrSVG(m [][]bool) template.HTML {
	n := len(m)
	var p strings.Builder
	for y, row := range m {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&p, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	return template.HTML(fmt.Sprintf(`<svg class="qr" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg" shape-rendering="crispEdges"><path d="%s"/></svg>`,
		n, n, p.String()))
}
