package mailer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// ExtractAttachments returns the attachments of a raw mail with their
// decoded bytes, for passing them on (a customer's files to engineers, an
// engineer's files to the customer). It stops before the files would exceed
// maxTotal bytes and says in skipped which files it left out and why; the
// raw mail keeps them all.
func ExtractAttachments(raw []byte, maxTotal int64) (files []OutAttachment, skipped []string, err error) {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, nil, fmt.Errorf("read mail: %w", err)
	}
	if r == nil {
		return nil, nil, errors.New("read mail: no message")
	}
	var total int64
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if message.IsUnknownCharset(err) || message.IsUnknownEncoding(err) {
				continue
			}
			return files, skipped, fmt.Errorf("read part: %w", err)
		}
		name, ctype, ok := attachmentOf(p.Header)
		if !ok {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p.Body, maxTotal-total+1))
		if err != nil {
			skipped = append(skipped, name+": unreadable ("+err.Error()+")")
			continue
		}
		if total+int64(len(data)) > maxTotal {
			skipped = append(skipped, name+": too large to pass on")
			continue
		}
		total += int64(len(data))
		files = append(files, OutAttachment{Filename: name, ContentType: ctype, Data: data})
	}
	return files, skipped, nil
}

// attachmentOf says whether a part is a file to pass on: an attachment, or
// an inline part that is not the text of the mail.
func attachmentOf(h mail.PartHeader) (name, ctype string, ok bool) {
	switch h := h.(type) {
	case *mail.AttachmentHeader:
		name, _ = h.Filename()
		ctype, _, _ = h.ContentType()
		if name == "" {
			name = "attachment"
		}
		return name, ctype, true
	case *mail.InlineHeader:
		ctype, params, _ := h.ContentType()
		if strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "multipart/") || ctype == "" {
			return "", "", false
		}
		name = params["name"]
		if name == "" {
			if _, p, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
				name = p["filename"]
			}
		}
		if name == "" {
			name = "inline"
		}
		return name, ctype, true
	}
	return "", "", false
}
