package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// recordVersion is the version written by this package and the only one it reads.
const recordVersion = 1

// record is the on-disk envelope around a saved value.
type record struct {
	Version   int             `json:"version"`
	Namespace string          `json:"namespace"`
	Key       string          `json:"key"`
	Saved     time.Time       `json:"saved"`
	Data      json.RawMessage `json:"data"`
}

// Errors describing why a record is corrupt. They are wrapped in *CorruptError by Load.
var (
	errEmpty       = errors.New("empty file")
	errNoVersion   = errors.New("no version field")
	errNoData      = errors.New("no data field")
	errWrongRecord = errors.New("record belongs to another key")
)

// encodeRecord appends the JSON record for data (already JSON) to buf. Every string is valid UTF-8, so the
// record decodes back to exactly the same namespace and key.
func encodeRecord(buf []byte, namespace, key string, saved time.Time, data []byte) []byte {
	buf = append(buf, `{"version":`...)
	buf = append(buf, '1')
	buf = append(buf, `,"namespace":`...)
	buf = appendJSONString(buf, namespace)
	buf = append(buf, `,"key":`...)
	buf = appendJSONString(buf, key)
	buf = append(buf, `,"saved":"`...)
	buf = saved.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","data":`...)
	buf = append(buf, data...)
	return append(buf, "}\n"...)
}

// appendJSONString appends s as a JSON string. s must be valid UTF-8 (checked by the callers).
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}

// decodeRecord parses one record file. It is pure (no I/O) so it can be fuzzed.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(bytes.TrimSpace(b)) == 0 {
		return r, errEmpty
	}
	if !utf8.Valid(b) {
		return r, errors.New("record is not valid UTF-8")
	}
	var v struct {
		Version   *int            `json:"version"`
		Namespace string          `json:"namespace"`
		Key       string          `json:"key"`
		Saved     time.Time       `json:"saved"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		// A record of another version may use other field types: name the version if it can be read.
		var probe struct {
			Version *int `json:"version"`
		}
		if json.Unmarshal(b, &probe) == nil && probe.Version != nil && *probe.Version != recordVersion {
			return r, fmt.Errorf("unknown record version %d (this build reads version %d)", *probe.Version, recordVersion)
		}
		return r, fmt.Errorf("bad JSON: %w", err)
	}
	switch {
	case v.Version == nil:
		return r, errNoVersion
	case *v.Version != recordVersion:
		return r, fmt.Errorf("unknown record version %d (this build reads version %d)", *v.Version, recordVersion)
	case len(v.Data) == 0:
		return r, errNoData
	}
	return record{Version: *v.Version, Namespace: v.Namespace, Key: v.Key, Saved: v.Saved, Data: v.Data}, nil
}
