package modinput

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Mask replaces a secret wherever one would be shown.
const Mask = "********"

// Secrets is a set of secret values to redact from log lines and error
// messages. It is safe for concurrent use; the zero value is empty and usable.
type Secrets struct {
	mu     sync.RWMutex
	values []string
}

// Add registers a secret. Values shorter than four bytes are ignored: they
// would redact ordinary words and cannot be meaningful secrets.
func (s *Secrets) Add(v string) {
	if s == nil || len(v) < 4 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.values {
		if have == v {
			return
		}
	}
	s.values = append(s.values, v)
}

// secretPattern catches credentials embedded in connection strings, URLs and
// token responses even when they were never registered.
var secretPattern = regexp.MustCompile(`(?i)((?:SharedAccessKey|AccountKey|SharedAccessSignature|client_secret|client_assertion|access_token|refresh_token|password|sig)=)[^;&\s"]+`)

// Redact returns v with every registered secret, and every key=value credential
// pattern, replaced by Mask.
func (s *Secrets) Redact(v string) string {
	if s != nil {
		s.mu.RLock()
		for _, secret := range s.values {
			if strings.Contains(v, secret) {
				v = strings.ReplaceAll(v, secret, Mask)
			}
		}
		s.mu.RUnlock()
	}
	if strings.IndexByte(v, '=') >= 0 {
		v = secretPattern.ReplaceAllString(v, "${1}"+Mask)
	}
	return v
}

// secretKeys are attribute keys whose values are always masked.
var secretKeys = map[string]bool{
	"client_secret": true, "connection_string": true, "storage_connection_string": true,
	"session_key": true, "password": true, "access_token": true, "authorization": true,
	"shared_access_key": true, "account_key": true,
}

// LogOptions configures NewLogHandler.
type LogOptions struct {
	Level   slog.Leveler // nil means INFO
	Secrets *Secrets     // nil means only the built-in patterns are redacted
}

// ParseLevel parses a log_level parameter: DEBUG, INFO, WARN (or WARNING),
// ERROR, in any case; empty means INFO.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "INFO":
		return slog.LevelInfo, nil
	case "DEBUG":
		return slog.LevelDebug, nil
	case "WARN", "WARNING":
		return slog.LevelWarn, nil
	case "ERROR":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("expected DEBUG, INFO, WARN or ERROR, got %q", s)
}

// LevelFatal is the level of records logged just before the process gives up.
const LevelFatal = slog.Level(12)

// logHandler writes "LEVEL key=value ..." lines, the form splunkd files under
// the input's component in splunkd.log and extracts fields from.
type logHandler struct {
	w       io.Writer
	mu      *sync.Mutex
	opts    LogOptions
	prefix  string // preformatted attributes from WithAttrs
	group   string
	secrets *Secrets
}

// NewLogHandler returns a slog.Handler writing one line per record to w.
// Handlers derived with WithAttrs and WithGroup share one lock, so lines never
// interleave; different handlers on one writer should be given a writer from
// LockedWriter.
func NewLogHandler(w io.Writer, opts LogOptions) slog.Handler {
	if opts.Level == nil {
		opts.Level = slog.LevelInfo
	}
	return &logHandler{w: w, mu: &sync.Mutex{}, opts: opts, secrets: opts.Secrets}
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.opts.Level.Level()
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	var b []byte
	for _, a := range attrs {
		b = c.appendAttr(b, c.group, a)
	}
	c.prefix += string(b)
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = joinKey(c.group, name)
	return &c
}

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	b := make([]byte, 0, 256)
	b = append(b, levelName(r.Level)...)
	b = append(b, " msg="...)
	b = appendValue(b, h.secrets.Redact(r.Message))
	b = append(b, h.prefix...)
	r.Attrs(func(a slog.Attr) bool {
		b = h.appendAttr(b, h.group, a)
		return true
	})
	line := h.secrets.Redact(string(b)) + "\n" // and once more, for secrets split across attributes' text
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, line)
	return err
}

func (h *logHandler) appendAttr(b []byte, group string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	key := joinKey(group, a.Key)
	if a.Value.Kind() == slog.KindGroup {
		for _, ga := range a.Value.Group() {
			b = h.appendAttr(b, key, ga)
		}
		return b
	}
	b = append(b, ' ')
	b = appendKey(b, key)
	b = append(b, '=')
	if secretKeys[strings.ToLower(a.Key)] {
		return append(b, Mask...)
	}
	// Values are redacted before they are quoted: a secret holding a quote,
	// a backslash or a line break would no longer match once escaped.
	switch a.Value.Kind() {
	case slog.KindString:
		return appendValue(b, h.secrets.Redact(a.Value.String()))
	case slog.KindInt64:
		return strconv.AppendInt(b, a.Value.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, a.Value.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(b, a.Value.Float64(), 'f', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(b, a.Value.Bool())
	case slog.KindDuration:
		return strconv.AppendInt(b, a.Value.Duration().Milliseconds(), 10)
	case slog.KindTime:
		return append(b, a.Value.Time().UTC().Format(time.RFC3339Nano)...)
	default:
		return appendValue(b, h.secrets.Redact(fmt.Sprint(a.Value.Any())))
	}
}

func joinKey(group, key string) string {
	if group == "" {
		return key
	}
	return group + "." + key
}

func levelName(l slog.Level) string {
	switch {
	case l >= LevelFatal:
		return "FATAL"
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARN"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// appendKey writes a key Splunk's automatic key=value extraction accepts.
func appendKey(b []byte, k string) []byte {
	if k == "" {
		return append(b, "attr"...)
	}
	for _, r := range k {
		if r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b = utf8.AppendRune(b, r)
		} else {
			b = append(b, '_')
		}
	}
	return b
}

// appendValue writes v bare when it is a simple token and double-quoted
// otherwise, with quotes, backslashes and line breaks escaped so that a record
// stays on one line.
func appendValue(b []byte, v string) []byte {
	if v != "" && !strings.ContainsAny(v, " \t\r\n\"=\\,;") && utf8.ValidString(v) {
		return append(b, v...)
	}
	b = append(b, '"')
	for _, r := range v {
		switch r {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if r < 0x20 {
				b = append(b, ' ')
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
	}
	return append(b, '"')
}

// LockedWriter returns a writer that serialises Write calls, for several log
// handlers sharing stderr.
func LockedWriter(w io.Writer) io.Writer { return &lockedWriter{w: w} }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
