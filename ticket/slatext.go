package ticket

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
)

// How deadlines and promises read in customer mail, per language. Go's
// time formatting knows only English names, so the names are here.

// textLang maps a language tag to one we have words for: "nb-NO" and
// "no" read as "nb", anything unknown as "en" (as templates.Render does).
func textLang(lang string) string {
	l := strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	switch l {
	case "nb", "no", "nn":
		return "nb"
	case "sv":
		return "sv"
	}
	return "en"
}

var (
	weekdayNames = map[string][7]string{
		"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		"nb": {"søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"},
		"sv": {"söndag", "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag"},
	}
	monthNames = map[string][12]string{
		"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		"nb": {"januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "desember"},
		"sv": {"januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"},
	}
)

// FormatDeadline writes t in loc (t's own location when nil) the way
// lang reads a date and time, with the zone's abbreviation:
//
//	en  Monday 4 January 2027 10:30 CET
//	nb  mandag 4. januar 2027 kl. 10.30 CET
//	sv  måndag 4 januari 2027 kl. 10.30 CET
func FormatDeadline(lang string, t time.Time, loc *time.Location) string {
	if loc != nil {
		t = t.In(loc)
	}
	l := textLang(lang)
	day := weekdayNames[l][t.Weekday()] + " " + FormatDate(l, t, nil)
	switch l {
	case "nb", "sv":
		return day + " kl. " + t.Format("15.04 MST")
	}
	return day + " " + t.Format("15:04 MST")
}

// FormatDate writes t's date in loc (t's own location when nil):
// "4 January 2027", "4. januar 2027", "4 januari 2027".
func FormatDate(lang string, t time.Time, loc *time.Location) string {
	if loc != nil {
		t = t.In(loc)
	}
	l := textLang(lang)
	sep := " "
	if l == "nb" {
		sep = ". "
	}
	return strconv.Itoa(t.Day()) + sep + monthNames[l][t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// FormatTarget says what a promise is in lang, to follow a deadline:
// "within 4 business hours", "within 3 business days", "at the end of the
// next business day". The zero Target gives "".
func FormatTarget(lang string, tg sla.Target) string {
	l := textLang(lang)
	w := targetWords[l]
	switch tg.Kind {
	case sla.TargetHours:
		h := tg.Hours
		switch {
		case h%time.Hour == 0:
			n := int(h / time.Hour)
			return w.within + " " + plural(n, w.hour, w.hours)
		case h%(30*time.Minute) == 0:
			n := strconv.FormatFloat(h.Hours(), 'f', 1, 64)
			if l != "en" {
				n = strings.Replace(n, ".", ",", 1)
			}
			return w.within + " " + n + " " + w.hours
		}
		return w.within + " " + plural(int(h/time.Minute), w.minute, w.minutes)
	case sla.TargetDays:
		return w.within + " " + plural(tg.Days, w.day, w.days)
	case sla.TargetNBD:
		return w.nbd
	}
	return ""
}

type targetText struct {
	within, hour, hours, minute, minutes, day, days, nbd string
}

var targetWords = map[string]targetText{
	"en": {"within", "business hour", "business hours", "business minute", "business minutes", "business day", "business days", "at the end of the next business day"},
	"nb": {"innen", "arbeidstime", "arbeidstimer", "arbeidsminutt", "arbeidsminutter", "virkedag", "virkedager", "ved slutten av neste virkedag"},
	"sv": {"inom", "arbetstimme", "arbetstimmar", "arbetsminut", "arbetsminuter", "arbetsdag", "arbetsdagar", "vid slutet av nästa arbetsdag"},
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// promiseLabel names a promise in lang: "first response", "første svar".
func promiseLabel(lang string, p sla.Promise) string {
	labels := map[string]map[sla.Promise]string{
		"en": {sla.PromiseFirstResponse: "first response", sla.PromiseUpdate: "update", sla.PromiseResolution: "resolution"},
		"nb": {sla.PromiseFirstResponse: "første svar", sla.PromiseUpdate: "oppdatering", sla.PromiseResolution: "løsning"},
		"sv": {sla.PromiseFirstResponse: "första svar", sla.PromiseUpdate: "uppdatering", sla.PromiseResolution: "lösning"},
	}
	if s, ok := labels[textLang(lang)][p]; ok {
		return s
	}
	return string(p)
}

// businessDuration writes a stretch of business time as "2h15m", "45m"
// or "3h".
func businessDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}
