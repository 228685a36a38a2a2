package templates

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"text/template"
)

// ErrNoTemplate is returned by Render for a template name that does not
// exist.
var ErrNoTemplate = errors.New("templates: no such template")

// DefaultLanguage is used when a requested language has no templates.
const DefaultLanguage = "en"

// Rendered is a mail text ready to be composed: a one-line subject and a
// plain-text body ending in a single newline.
type Rendered struct {
	Subject string
	Body    string
}

//go:embed */*.tmpl
var files embed.FS

// mailTemplate is one template file, parsed as two templates: the subject
// line and the body after the blank line. They are executed apart so that
// data with line breaks (a customer's subject) can never move text from
// the subject into the body or the other way round.
type mailTemplate struct {
	subject, body *template.Template
}

// set is every parsed template, keyed by language and then by name. It is
// built once, on first use; a template that does not parse is a programming
// error and is reported by every Render call (and by the tests).
type set struct {
	byLang map[string]map[string]mailTemplate
	err    error
}

var loaded = sync.OnceValue(load)

func load() set {
	s := set{byLang: map[string]map[string]mailTemplate{}}
	paths, err := fs.Glob(files, "*/*.tmpl")
	if err != nil {
		s.err = err
		return s
	}
	for _, p := range paths {
		lang, file := path.Split(p)
		lang = strings.TrimSuffix(lang, "/")
		name := strings.TrimSuffix(file, ".tmpl")
		src, err := files.ReadFile(p)
		if err != nil {
			s.err = errors.Join(s.err, err)
			continue
		}
		mt, err := parse(p, string(src))
		if err != nil {
			s.err = errors.Join(s.err, fmt.Errorf("templates: %s: %w", p, err))
			continue
		}
		if s.byLang[lang] == nil {
			s.byLang[lang] = map[string]mailTemplate{}
		}
		s.byLang[lang][name] = mt
	}
	return s
}

// parse reads the file format: "Subject: …" on the first line, a blank
// line, then the body.
func parse(p, src string) (mailTemplate, error) {
	first, rest, ok := strings.Cut(src, "\n")
	subject, isSubject := strings.CutPrefix(first, "Subject:")
	if !ok || !isSubject {
		return mailTemplate{}, errors.New(`first line must be "Subject: …"`)
	}
	body, blank := strings.CutPrefix(rest, "\n")
	if !blank {
		return mailTemplate{}, errors.New("the subject line must be followed by a blank line")
	}
	var (
		mt  mailTemplate
		err error
	)
	if mt.subject, err = template.New(p + ":subject").Option("missingkey=error").Parse(subject); err != nil {
		return mailTemplate{}, err
	}
	if mt.body, err = template.New(p).Option("missingkey=error").Parse(body); err != nil {
		return mailTemplate{}, err
	}
	return mt, nil
}

// Languages returns the languages that have templates, sorted.
func Languages() []string {
	return slices.Sorted(maps.Keys(loaded().byLang))
}

// Names returns the template names of a language, sorted; nil for a
// language without templates.
func Names(lang string) []string {
	return slices.Sorted(maps.Keys(loaded().byLang[lang]))
}

// pick finds template name of language lang in byLang; a language
// without templates falls back to DefaultLanguage.
func pick[T any](byLang map[string]map[string]T, lang, name string) (T, bool) {
	byName, ok := byLang[normalizeLang(lang)]
	if !ok {
		byName = byLang[DefaultLanguage]
	}
	t, ok := byName[name]
	return t, ok
}

// Render executes template name in language lang with data. A language
// without templates falls back to DefaultLanguage ("nb-NO" is read as "nb",
// and "no"/"nn" as "nb"); an unknown name is an error wrapping
// ErrNoTemplate. A field or map key the template needs but data lacks is an
// error, never an empty string in a customer's mail.
func Render(lang, name string, data any) (Rendered, error) {
	s := loaded()
	if s.err != nil {
		return Rendered{}, s.err
	}
	mt, ok := pick(s.byLang, lang, name)
	if !ok {
		return Rendered{}, fmt.Errorf("%w: %q", ErrNoTemplate, name)
	}
	var subject, body strings.Builder
	if err := mt.subject.Execute(&subject, data); err != nil {
		return Rendered{}, fmt.Errorf("templates: render %s: %w", mt.subject.Name(), err)
	}
	if err := mt.body.Execute(&body, data); err != nil {
		return Rendered{}, fmt.Errorf("templates: render %s: %w", mt.body.Name(), err)
	}
	// A subject is one line whatever the data holds; the body ends in
	// exactly one newline so that composing adds no blank lines.
	return Rendered{
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Body:    strings.TrimRight(body.String(), " \t\r\n") + "\n",
	}, nil
}

// normalizeLang maps a language tag to the directory that holds its
// templates: "nb-NO" → "nb", "sv_SE" → "sv". Norwegian without a written
// standard ("no") and Nynorsk ("nn") get Bokmål, which every Norwegian
// reads, rather than English.
func normalizeLang(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	switch lang {
	case "no", "nn":
		return "nb"
	}
	return lang
}
