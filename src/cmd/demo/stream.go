package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// streamEvent is one <event> of a modular input's XML stream.
type streamEvent struct {
	Stanza     string    `xml:"stanza,attr"`
	Unbroken   string    `xml:"unbroken,attr"`
	Time       string    `xml:"time"`
	Source     string    `xml:"source"`
	Sourcetype string    `xml:"sourcetype"`
	Index      string    `xml:"index"`
	Host       string    `xml:"host"`
	Data       string    `xml:"data"`
	Done       *struct{} `xml:"done"`
}

// parseStream reads the <stream> documents a modular input wrote (one per
// process; an empty output is no events) and calls fn for each event, in
// order, without keeping them. Anything else than <stream><event>… is an
// error with its byte offset. It returns the number of events read.
func parseStream(r io.Reader, fn func(*streamEvent)) (int, error) {
	dec := xml.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	events := 0
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 {
				return events, fmt.Errorf("stream: unexpected end of output inside <stream> (offset %d)", dec.InputOffset())
			}
			return events, nil
		}
		if err != nil {
			return events, fmt.Errorf("stream: offset %d: %w", dec.InputOffset(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case depth == 0 && t.Name.Local == "stream":
				depth = 1
			case depth == 1 && t.Name.Local == "event":
				var ev streamEvent
				if err := dec.DecodeElement(&ev, &t); err != nil {
					return events, fmt.Errorf("stream: offset %d: event %d: %w", dec.InputOffset(), events+1, err)
				}
				events++
				fn(&ev)
			default:
				return events, fmt.Errorf("stream: offset %d: unexpected <%s>", dec.InputOffset(), t.Name.Local)
			}
		case xml.EndElement:
			depth = 0
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return events, fmt.Errorf("stream: offset %d: text outside <event>: %.40q", dec.InputOffset(), string(t))
			}
		}
	}
}

// collectStream is parseStream keeping the events (for small streams).
func collectStream(r io.Reader) ([]streamEvent, error) {
	var out []streamEvent
	_, err := parseStream(r, func(e *streamEvent) { out = append(out, *e) })
	return out, err
}

// eventTime parses <time> (epoch seconds, optionally with decimals).
func eventTime(s string) (time.Time, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, fmt.Errorf("bad <time> %q", s)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), nil
}

// logLine is one parsed stderr line: "LEVEL key=value ...".
type logLine struct {
	Level  string
	Fields map[string]string
	Raw    string
}

var levels = map[string]bool{"DEBUG": true, "INFO": true, "WARN": true, "ERROR": true, "FATAL": true}

// parseLogLine splits a log line; values may be double-quoted with Go
// escapes. A line that does not start with a level has Level "".
func parseLogLine(s string) logLine {
	l := logLine{Raw: s, Fields: map[string]string{}}
	lvl, rest, _ := strings.Cut(s, " ")
	if !levels[lvl] {
		return l
	}
	l.Level = lvl
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		k, v, ok := strings.Cut(rest, "=")
		if !ok || strings.ContainsAny(k, " \"") {
			break
		}
		if strings.HasPrefix(v, `"`) {
			q, err := strconv.QuotedPrefix(v)
			if err != nil {
				l.Fields[k] = v
				break
			}
			l.Fields[k], _ = strconv.Unquote(q)
			rest = v[len(q):]
			continue
		}
		val, tail, _ := strings.Cut(v, " ")
		l.Fields[k] = val
		rest = tail
	}
	return l
}

// parseLog reads every non-empty line of a log.
func parseLog(r io.Reader) ([]logLine, error) {
	var out []logLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		out = append(out, parseLogLine(sc.Text()))
	}
	return out, sc.Err()
}

// objectKey is the id and update time of an incident or alert event
// (Graph: id, lastUpdateDateTime; legacy incidents: incidentId,
// lastUpdateTime; legacy incident alerts: alertId, lastUpdatedTime; legacy
// Defender for Endpoint alerts: id, lastUpdateTime).
func objectKey(data string) (id, updated string, err error) {
	var o struct {
		AlertID            json.RawMessage `json:"alertId"`
		ID                 json.RawMessage `json:"id"`
		IncidentID         json.RawMessage `json:"incidentId"`
		LastUpdateDateTime *string         `json:"lastUpdateDateTime"`
		LastUpdateTime     *string         `json:"lastUpdateTime"`
		LastUpdatedTime    *string         `json:"lastUpdatedTime"`
	}
	if err := json.Unmarshal([]byte(data), &o); err != nil {
		return "", "", err
	}
	for _, raw := range []json.RawMessage{o.AlertID, o.ID, o.IncidentID} { // legacy alerts carry incidentId too
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			id = s
		} else {
			id = string(raw) // a number
		}
		break
	}
	for _, t := range []*string{o.LastUpdateDateTime, o.LastUpdateTime, o.LastUpdatedTime} {
		if t != nil {
			updated = *t
			break
		}
	}
	return id, updated, nil
}
