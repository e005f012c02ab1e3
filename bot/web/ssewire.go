package web

// The Server-Sent Events wire format of the pages and the JSON API: the one
// stream writer (was bot/sse). Event data is untrusted (build logs carry
// whatever a provisioner prints), so every way a browser's EventSource ends
// a line — CR LF, LF and a lone CR — starts a new "data:" line here, and the
// event name and id lose any line break: nothing in the data can become a
// field of its own.

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// Lines splits data the way an EventSource splits a stream: on "\r\n",
// "\n" and a lone "\r". It always returns at least one (possibly empty) line.
func Lines(data string) []string {
	var out []string
	for {
		i := strings.IndexAny(data, "\r\n")
		if i < 0 {
			return append(out, data)
		}
		out = append(out, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

// field drops line breaks from a single-line field (event name, id).
// An id containing NUL is ignored by browsers; drop NUL too.
func field(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return -1
		}
		return r
	}, s)
}

// Format returns one event: optional id, optional event name, one "data:"
// line per line of data, and the blank line that dispatches it.
func Format(event, id, data string) string {
	var b strings.Builder
	b.Grow(len(data) + len(event) + len(id) + 32)
	if id != "" {
		b.WriteString("id: ")
		b.WriteString(field(id))
		b.WriteByte('\n')
	}
	if event != "" {
		b.WriteString("event: ")
		b.WriteString(field(event))
		b.WriteByte('\n')
	}
	for _, line := range Lines(data) {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.String()
}

// Write writes Format(event, id, data) to w.
func Write(w io.Writer, event, id, data string) error {
	_, err := io.WriteString(w, Format(event, id, data))
	return err
}

// Event is what a browser's EventSource dispatches.
type Event struct{ Name, ID, Data string }

// Parse reads a stream as the EventSource parser of the HTML standard does
// (lines end at CR LF, LF or CR; "field: value" with one optional space).
// Tests use it to see a stream the way a browser does.
func Parse(stream string) []Event {
	var out []Event
	var cur Event
	var data []string
	for _, line := range Lines(stream) {
		if line == "" {
			if data != nil {
				cur.Data = strings.Join(data, "\n")
				out = append(out, cur)
			}
			cur, data = Event{}, nil
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "event":
			cur.Name = value
		case "id":
			cur.ID = value
		case "data":
			data = append(data, value)
		}
	}
	return out
}

// Unbound lifts the server's read and write timeouts from a streaming
// response: an event stream lives as long as the build it follows, while
// every other request keeps cmd/imagebot's http.Server timeouts.
func Unbound(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}
