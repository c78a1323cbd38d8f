package modinput

import (
	"io"
	"strings"
)

// WriteValidationError writes the document splunkd shows when
// --validate-arguments fails. The caller then exits non-zero.
func WriteValidationError(w io.Writer, msg string) error {
	var b strings.Builder
	b.WriteString("<error><message>")
	b.Write(appendEscaped(nil, []byte(msg), false))
	b.WriteString("</message></error>")
	_, err := io.WriteString(w, b.String())
	return err
}
