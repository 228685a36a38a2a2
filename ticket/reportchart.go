package ticket

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The report's chart of cases per month: a PNG, because Gmail and Outlook
// show no inline SVG, drawn here so that the daemon needs no renderer.
// A paletted image of five colours keeps it under a kilobyte or two, and
// the same months give the same bytes.

// Chart size in pixels, and its plot area: the scale on the left, month
// labels under the bars, room above the tallest bar for its figure.
const (
	chartWidth, chartHeight = 480, 200
	plotLeft, plotRight     = 40, chartWidth - 8
	plotTop, plotBottom     = 16, chartHeight - 20
)

// Colours of the chart. The HTML legend uses chartOpened and chartClosed
// too (see RenderReportHTML).
var (
	chartOpened = color.RGBA{0x2f, 0x6f, 0xb3, 0xff}
	chartClosed = color.RGBA{0x5a, 0xa4, 0x69, 0xff}
	chartGrid   = color.RGBA{0xe3, 0xe3, 0xe3, 0xff}
	chartInk    = color.RGBA{0x44, 0x44, 0x44, 0xff}
	chartPage   = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// hexColor writes c as CSS does: "#2f6fb3".
func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// reportChart draws months as a PNG bar chart: per month a bar of the
// cases opened and one of the cases closed, labels[i] under month i. The
// font has ASCII only; other characters show as a box.
func reportChart(months []MonthCount, labels []string) ([]byte, error) {
	img := image.NewPaletted(image.Rect(0, 0, chartWidth, chartHeight),
		color.Palette{chartPage, chartGrid, chartInk, chartOpened, chartClosed})
	ink := image.NewUniform(chartInk)
	text := func(s string, centerX, baseline int, alignRight bool) {
		w := font.MeasureString(basicfont.Face7x13, s).Ceil()
		x := centerX - w/2
		if alignRight {
			x = centerX - w
		}
		d := font.Drawer{Dst: img, Src: ink, Face: basicfont.Face7x13, Dot: fixed.P(x, baseline)}
		d.DrawString(s)
	}
	fill := func(r image.Rectangle, c color.Color) {
		draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
	}

	top, step := chartScale(months)
	plotH := plotBottom - plotTop
	height := func(v int) int {
		h := (v*plotH + top/2) / top
		if v > 0 && h == 0 {
			h = 1 // a case is never invisible
		}
		return h
	}
	for v := 0; v <= top; v += step {
		y := plotBottom - height(v)
		fill(image.Rect(plotLeft, y, plotRight, y+1), chartGrid)
		text(strconv.Itoa(v), plotLeft-6, y+4, true)
	}
	fill(image.Rect(plotLeft, plotBottom, plotRight, plotBottom+1), chartInk)

	n := max(len(months), 1)
	group := (plotRight - plotLeft) / n
	bar := min(group*3/10, 36)
	const gap = 2
	// Figures above the bars only when every one fits its bar.
	figures := font.MeasureString(basicfont.Face7x13, strconv.Itoa(top)).Ceil() <= bar+gap
	for i, m := range months {
		center := plotLeft + i*(plotRight-plotLeft)/n + group/2
		for j, s := range []struct {
			v int
			c color.Color
		}{{m.Opened, chartOpened}, {m.Closed, chartClosed}} {
			x := center - bar - gap/2 + j*(bar+gap)
			y := plotBottom - height(s.v)
			fill(image.Rect(x, y, x+bar, plotBottom), s.c)
			if figures {
				text(strconv.Itoa(s.v), x+bar/2, y-3, false)
			}
		}
		if i < len(labels) {
			text(labels[i], center, plotBottom+14, false)
		}
	}

	// Default compression: BestCompression saves 7 % of a kilobyte and
	// takes three times as long.
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("report chart: %w", err)
	}
	return b.Bytes(), nil
}

// chartScale picks the top of the scale and the step between its lines:
// a step of 1, 2 or 5 times a power of ten, at most four steps, the top a
// multiple of the step at or above the largest count.
func chartScale(months []MonthCount) (top, step int) {
	most := 0
	for _, m := range months {
		most = max(most, m.Opened, m.Closed)
	}
	if most == 0 {
		return 1, 1
	}
	want := (most + 3) / 4
	for p := 1; ; p *= 10 {
		for _, f := range []int{1, 2, 5} {
			if f*p >= want {
				step = f * p
				return (most + step - 1) / step * step, step
			}
		}
	}
}
