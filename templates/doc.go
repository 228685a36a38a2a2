// Package templates holds the embedded text/template files of every mail
// helpdeskd writes, per language (en, nb, sv), and renders them; a mail
// with an HTML part (the agreement report) also has an html/template file.
//
// It holds no logic beyond presentation and imports no other package of
// this project.
package templates
