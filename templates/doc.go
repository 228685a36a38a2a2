// Package templates holds the embedded text/template files of every mail
// helpdeskd writes, per language (en, nb, sv), and renders them.
//
// It holds no logic beyond presentation and imports no other package of
// this project.
package templates
