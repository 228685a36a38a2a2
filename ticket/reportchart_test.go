package ticket

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"
)

func chartMonths(counts ...[2]int) []MonthCount {
	out := make([]MonthCount, len(counts))
	for i, c := range counts {
		out[i] = MonthCount{Start: time.Date(2026, time.Month(i+1), 1, 0, 0, 0, 0, time.UTC), Opened: c[0], Closed: c[1]}
	}
	return out
}

func decodeChart(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != chartWidth || b.Dy() != chartHeight {
		t.Fatalf("chart is %v, want %dx%d", b, chartWidth, chartHeight)
	}
	return img
}

func sameColor(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

// barRuns reads the row just above the axis from left to right and
// returns the colour of each run of bar pixels: one entry per bar.
func barRuns(img image.Image) []color.Color {
	var runs []color.Color
	var prev color.Color
	y := plotBottom - 1
	for x := 0; x < chartWidth; x++ {
		c := img.At(x, y)
		isBar := sameColor(c, chartOpened) || sameColor(c, chartClosed)
		if isBar && (prev == nil || !sameColor(c, prev)) {
			runs = append(runs, c)
		}
		if isBar {
			prev = c
		} else {
			prev = nil
		}
	}
	return runs
}

// barTop returns the highest row of the bar crossing column x, or
// plotBottom when there is none.
func barTop(img image.Image, x int, c color.Color) int {
	y := plotBottom
	for y > 0 && sameColor(img.At(x, y-1), c) {
		y--
	}
	return y
}

func TestReportChartDrawsTwoBarsPerMonth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		months []MonthCount
	}{
		{"monthly report", chartMonths([2]int{4, 2})},
		{"quarterly report", chartMonths([2]int{5, 3}, [2]int{6, 6}, [2]int{2, 1})},
		{"yearly report", chartMonths([2]int{1, 1}, [2]int{2, 1}, [2]int{3, 2}, [2]int{4, 4}, [2]int{5, 3}, [2]int{6, 6},
			[2]int{7, 5}, [2]int{8, 9}, [2]int{9, 8}, [2]int{10, 10}, [2]int{11, 2}, [2]int{12, 40})},
		{"large counts", chartMonths([2]int{1234, 1}, [2]int{999, 1000}, [2]int{5000, 4999})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			labels := make([]string, len(tc.months))
			for i := range labels {
				labels[i] = tc.months[i].Start.Format("Jan")
			}
			data, err := reportChart(tc.months, labels)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > 4096 {
				t.Errorf("chart is %d bytes, want a few KB at most", len(data))
			}
			img := decodeChart(t, data)
			runs := barRuns(img)
			if len(runs) != 2*len(tc.months) {
				t.Fatalf("%d bars, want %d", len(runs), 2*len(tc.months))
			}
			for i, c := range runs {
				if want := []color.Color{chartOpened, chartClosed}[i%2]; !sameColor(c, want) {
					t.Errorf("bar %d has colour %v, want opened and closed in turn", i, c)
				}
			}
			again, err := reportChart(tc.months, labels)
			if err != nil || !bytes.Equal(data, again) {
				t.Errorf("the same months gave different bytes (%v)", err)
			}
		})
	}
}

func TestReportChartBarHeightsFollowTheCounts(t *testing.T) {
	months := chartMonths([2]int{10, 5}, [2]int{0, 1})
	data, err := reportChart(months, []string{"Jan", "Feb"})
	if err != nil {
		t.Fatal(err)
	}
	img := decodeChart(t, data)
	// Find each bar's middle column on the row above the axis.
	var mids []int
	for x := 0; x < chartWidth; {
		c := img.At(x, plotBottom-1)
		if !sameColor(c, chartOpened) && !sameColor(c, chartClosed) {
			x++
			continue
		}
		start := x
		for x < chartWidth && sameColor(img.At(x, plotBottom-1), c) {
			x++
		}
		mids = append(mids, (start+x)/2)
	}
	// January 10 and 5, February 0 (no bar) and 1: three bars.
	if len(mids) != 3 {
		t.Fatalf("%d bars, want 3: a month with no case opened has no opened bar", len(mids))
	}
	plotH := plotBottom - plotTop
	top, _ := chartScale(months)
	for i, tc := range []struct {
		c     color.Color
		count int
	}{{chartOpened, 10}, {chartClosed, 5}, {chartClosed, 1}} {
		got := plotBottom - barTop(img, mids[i], tc.c)
		want := tc.count * plotH / top
		if got < want-1 || got > want+1 {
			t.Errorf("bar %d (count %d) is %d px high, want %d", i, tc.count, got, want)
		}
	}
}

func TestReportChartWithoutCases(t *testing.T) {
	data, err := reportChart(chartMonths([2]int{0, 0}, [2]int{0, 0}, [2]int{0, 0}), []string{"Jul", "Aug", "Sep"})
	if err != nil {
		t.Fatal(err)
	}
	if runs := barRuns(decodeChart(t, data)); len(runs) != 0 {
		t.Errorf("%d bars for a quarter without cases", len(runs))
	}
}

func TestChartScale(t *testing.T) {
	for _, tc := range []struct {
		most, top, step int
	}{
		{0, 1, 1}, {1, 1, 1}, {3, 3, 1}, {4, 4, 1}, {5, 6, 2}, {7, 8, 2}, {13, 15, 5},
		{40, 40, 10}, {100, 100, 50}, {5000, 6000, 2000},
	} {
		top, step := chartScale(chartMonths([2]int{tc.most / 2, tc.most}))
		if top != tc.top || step != tc.step {
			t.Errorf("largest count %d: scale to %d in steps of %d, want %d in steps of %d", tc.most, top, step, tc.top, tc.step)
		}
		if top/step > 4 {
			t.Errorf("largest count %d: %d steps, want at most 4", tc.most, top/step)
		}
	}
}
