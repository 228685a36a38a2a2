package mailer

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	htmlcharset "golang.org/x/net/html/charset"
)

// htmlToText turns an HTML mail body into readable plain text for tickets
// and engineer notifications: block elements become line breaks, links
// become "text <url>", list items get a dash, scripts, styles and the
// document head are dropped, entities are decoded and whitespace is
// collapsed outside <pre>.
func htmlToText(src string) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		// The parser gives up on elements nested more than 512 deep.
		return htmlTokensToText(src)
	}
	w := &htmlTextWriter{}
	// Depth-first with an explicit stack of enter/leave events, which is
	// all the writer needs.
	type frame struct {
		n    *html.Node
		exit bool
	}
	stack := []frame{{n: doc}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if f.exit {
			w.leave(f.n)
			continue
		}
		switch f.n.Type {
		case html.TextNode:
			w.text(f.n.Data)
			continue
		case html.ElementNode:
			if htmlSkipped[f.n.DataAtom] {
				continue
			}
			w.enter(f.n)
			stack = append(stack, frame{n: f.n, exit: true})
		case html.DocumentNode:
		default: // comments, doctype
			continue
		}
		for c := f.n.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, frame{n: c})
		}
	}
	return w.result()
}

// htmlTokensToText is the fallback of htmlToText for documents the tree
// parser refuses: the same conversion driven by the tokenizer, without
// the tree's repair of unclosed elements.
func htmlTokensToText(src string) string {
	w := &htmlTextWriter{}
	z := html.NewTokenizer(strings.NewReader(src))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return w.result()
		case html.TextToken:
			if skip == 0 {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			n := &html.Node{Type: html.ElementNode, DataAtom: tok.DataAtom, Data: tok.Data, Attr: tok.Attr}
			switch {
			case htmlSkipped[tok.DataAtom]:
				skip++
			case skip == 0:
				w.enter(n)
				if htmlVoid[tok.DataAtom] {
					w.leave(n)
				}
			}
		case html.EndTagToken:
			tok := z.Token()
			switch {
			case htmlSkipped[tok.DataAtom]:
				skip = max(skip-1, 0)
			case skip == 0:
				w.leave(&html.Node{Type: html.ElementNode, DataAtom: tok.DataAtom, Data: tok.Data})
			}
		}
	}
}

// htmlVoid are elements without content or end tag.
var htmlVoid = map[atom.Atom]bool{
	atom.Br: true, atom.Hr: true, atom.Img: true, atom.Input: true, atom.Meta: true,
	atom.Link: true, atom.Wbr: true, atom.Col: true, atom.Area: true, atom.Base: true,
}

// htmlSkipped are elements whose content is not for reading.
var htmlSkipped = map[atom.Atom]bool{
	atom.Head: true, atom.Title: true, atom.Script: true, atom.Style: true,
	atom.Noscript: true, atom.Template: true, atom.Iframe: true,
	atom.Object: true, atom.Svg: true, atom.Math: true,
}

// htmlParagraphs end with a blank line; other htmlBlocks with a line break.
var htmlParagraphs = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Blockquote: true, atom.Pre: true,
	atom.Table: true, atom.Ul: true, atom.Ol: true, atom.Dl: true, atom.Hr: true,
}

var htmlBlocks = map[atom.Atom]bool{
	atom.Div: true, atom.Tr: true, atom.Li: true, atom.Dt: true, atom.Dd: true,
	atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true,
	atom.Nav: true, atom.Aside: true, atom.Main: true, atom.Address: true,
	atom.Form: true, atom.Fieldset: true, atom.Figure: true, atom.Figcaption: true,
	atom.Caption: true, atom.Thead: true, atom.Tbody: true, atom.Tfoot: true,
	atom.Center: true, atom.Details: true, atom.Summary: true, atom.Body: true,
}

// htmlTextWriter accumulates text, owing line breaks and spaces until the
// next word so that runs of whitespace and empty blocks collapse.
type htmlTextWriter struct {
	b      strings.Builder
	breaks int  // line breaks owed before the next word
	space  bool // a space is owed before the next word
	pre    int  // depth of <pre> elements
	links  []htmlLink
}

type htmlLink struct {
	href  string
	start int // length of the output when the link opened
}

func (w *htmlTextWriter) lineBreak(n int) {
	w.breaks = max(w.breaks, n)
}

func (w *htmlTextWriter) enter(n *html.Node) {
	switch {
	case n.DataAtom == atom.Br:
		w.breaks = min(w.breaks+1, 2)
	case n.DataAtom == atom.P && strings.Contains(htmlAttr(n, "class"), "MsoNormal"):
		// Outlook writes every line as its own MsoNormal paragraph and
		// blank lines as paragraphs holding &nbsp;.
		w.lineBreak(1)
	case htmlParagraphs[n.DataAtom]:
		w.lineBreak(2)
	case htmlBlocks[n.DataAtom]:
		w.lineBreak(1)
	}
	switch n.DataAtom {
	case atom.Pre:
		w.pre++
	case atom.Li:
		w.word("-")
		w.space = true
	case atom.A:
		w.links = append(w.links, htmlLink{href: strings.TrimSpace(htmlAttr(n, "href")), start: w.b.Len()})
	}
}

func (w *htmlTextWriter) leave(n *html.Node) {
	switch {
	case n.DataAtom == atom.P && strings.Contains(htmlAttr(n, "class"), "MsoNormal"):
		w.lineBreak(1)
	case htmlParagraphs[n.DataAtom]:
		w.lineBreak(2)
	case htmlBlocks[n.DataAtom]:
		w.lineBreak(1)
	}
	switch n.DataAtom {
	case atom.Pre:
		w.pre--
	case atom.Td, atom.Th:
		w.space = true
	case atom.A:
		if len(w.links) == 0 {
			return
		}
		l := w.links[len(w.links)-1]
		w.links = w.links[:len(w.links)-1]
		text := strings.TrimSpace(w.b.String()[l.start:])
		if text != "" && htmlLinkWorthShowing(l.href, text) {
			w.space = true
			w.word("<" + l.href + ">")
		}
	}
}

// htmlLinkWorthShowing reports whether the URL of a link adds anything to
// its text: only real destinations, and not when the text already is the
// URL or the mail address.
func htmlLinkWorthShowing(href, text string) bool {
	lower := strings.ToLower(href)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") &&
		!strings.HasPrefix(lower, "mailto:") && !strings.HasPrefix(lower, "ftp://") {
		return false
	}
	bare := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(href, "mailto:"), "https://"), "http://")
	return text != href && text != bare && strings.TrimSuffix(text, "/") != strings.TrimSuffix(bare, "/")
}

func (w *htmlTextWriter) text(s string) {
	if w.pre > 0 {
		if s != "" {
			w.flushBreaks()
			if w.space && w.b.Len() > 0 {
				w.b.WriteByte(' ')
			}
			w.space = false
			w.b.WriteString(strings.ReplaceAll(s, "\r\n", "\n"))
		}
		return
	}
	// Split on ASCII whitespace only: a no-break space is content (Outlook's
	// blank lines are paragraphs holding one).
	words := strings.FieldsFunc(s, isHTMLSpace)
	if len(words) == 0 {
		if s != "" {
			w.space = true
		}
		return
	}
	if isHTMLSpace(rune(s[0])) {
		w.space = true
	}
	for i, word := range words {
		if i > 0 {
			w.space = true
		}
		w.word(word)
	}
	if isHTMLSpace(rune(s[len(s)-1])) {
		w.space = true
	}
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f'
}

// word writes one word, preceded by the line breaks or space owed.
func (w *htmlTextWriter) word(s string) {
	if !w.flushBreaks() && w.space && w.b.Len() > 0 {
		w.b.WriteByte(' ')
	}
	w.space = false
	w.b.WriteString(s)
}

// flushBreaks writes the line breaks owed, none at the very start.
func (w *htmlTextWriter) flushBreaks() bool {
	if w.breaks == 0 {
		return false
	}
	if w.b.Len() > 0 {
		w.b.WriteString("\n\n"[:w.breaks])
	}
	w.breaks, w.space = 0, false
	return true
}

// result tidies the text: no-break spaces become spaces, lines lose
// trailing blanks and at most one blank line separates paragraphs.
func (w *htmlTextWriter) result() string {
	s := strings.ReplaceAll(w.b.String(), "\u00a0", " ")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.Trim(strings.Join(out, "\n"), "\n")
}

func htmlAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

// htmlMetaCharset returns the charset an HTML document declares in its
// byte-order mark or <meta> tags, or the WHATWG guess when it declares none.
func htmlMetaCharset(data []byte) string {
	_, name, _ := htmlcharset.DetermineEncoding(data, "text/html")
	return name
}
