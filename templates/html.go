package templates

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
)

// HTML parts of mail. A few mails (the agreement report) also carry an
// HTML alternative to their text. Those templates are NAME.html files next
// to the text templates and are parsed with html/template, which escapes
// every value for the place it lands in: a customer's subject in a report
// cannot add markup, a link or a script.

//go:embed */*.html
var htmlFiles embed.FS

// htmlStyle defines the "style" template every HTML template includes.
//
//go:embed style.html
var htmlStyle string

// htmlSet is every parsed HTML template, keyed by language and then by
// name; like set, built once, and a template that does not parse is
// reported by every RenderHTML call (and by the tests).
type htmlSet struct {
	byLang map[string]map[string]*template.Template
	err    error
}

var loadedHTML = sync.OnceValue(loadHTML)

func loadHTML() htmlSet {
	s := htmlSet{byLang: map[string]map[string]*template.Template{}}
	paths, err := fs.Glob(htmlFiles, "*/*.html")
	if err != nil {
		s.err = err
		return s
	}
	for _, p := range paths {
		lang, file := path.Split(p)
		lang = strings.TrimSuffix(lang, "/")
		src, err := htmlFiles.ReadFile(p)
		if err != nil {
			s.err = errors.Join(s.err, err)
			continue
		}
		t, err := template.New(p).Option("missingkey=error").Parse(htmlStyle)
		if err == nil {
			t, err = t.Parse(string(src))
		}
		if err != nil {
			s.err = errors.Join(s.err, fmt.Errorf("templates: %s: %w", p, err))
			continue
		}
		if s.byLang[lang] == nil {
			s.byLang[lang] = map[string]*template.Template{}
		}
		s.byLang[lang][strings.TrimSuffix(file, ".html")] = t
	}
	return s
}

// HTMLNames returns the HTML template names of a language, sorted; nil for
// a language without them.
func HTMLNames(lang string) []string {
	return slices.Sorted(maps.Keys(loadedHTML().byLang[lang]))
}

// RenderHTML executes the HTML template name in language lang with data
// and returns a whole HTML document ending in a newline. Languages fall
// back as in Render; an unknown name is an error wrapping ErrNoTemplate,
// and a field or map key data lacks is an error too.
func RenderHTML(lang, name string, data any) (string, error) {
	s := loadedHTML()
	if s.err != nil {
		return "", s.err
	}
	t, ok := pick(s.byLang, lang, name)
	if !ok {
		return "", fmt.Errorf("%w: %q (HTML)", ErrNoTemplate, name)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("templates: render %s: %w", t.Name(), err)
	}
	return strings.TrimRight(b.String(), " \t\r\n") + "\n", nil
}
