package packer

import (
	"strconv"
	"strings"
	"time"
)

// Line is one machine-readable line: timestamp,target,type,data...
type Line struct {
	Time   time.Time
	Target string
	Type   string
	Data   []string // unescaped
}

// ParseLine splits one machine-readable line and undoes Packer's escaping
// (%!(PACKER_COMMA) for commas inside fields, \n and \r for line breaks).
// ok is false for a line that is not machine-readable (plain stderr noise).
func ParseLine(s string) (Line, bool) {
	s = strings.TrimRight(s, "\r\n")
	parts := strings.Split(s, ",")
	if len(parts) < 3 {
		return Line{}, false
	}
	sec, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || parts[2] == "" {
		return Line{}, false
	}
	l := Line{Time: time.Unix(sec, 0).UTC(), Target: parts[1], Type: parts[2]}
	for _, d := range parts[3:] {
		l.Data = append(l.Data, Unescape(d))
	}
	return l, true
}

// Unescape undoes Packer's machine-readable escaping of one field.
func Unescape(s string) string {
	if !strings.ContainsAny(s, `%\`) {
		return s
	}
	s = strings.ReplaceAll(s, "%!(PACKER_COMMA)", ",")
	s = strings.ReplaceAll(s, `\n`, "\n")
	s = strings.ReplaceAll(s, `\r`, "\r")
	return s
}

// Parser turns lines into events. Artifacts arrive over several lines
// (builder-id, id, file..., end), so it keeps state between lines.
type Parser struct {
	pending map[string]*Artifact // by target + index
}

// NewParser returns an empty Parser.
func NewParser() *Parser { return &Parser{pending: map[string]*Artifact{}} }

// Events returns the events one line yields (usually zero or one).
func (p *Parser) Events(l Line) []Event {
	switch l.Type {
	case "ui":
		return p.ui(l)
	case "artifact":
		return p.artifact(l)
	case "error-count":
		if len(l.Data) > 0 && l.Data[0] != "0" {
			return []Event{{Time: l.Time, Kind: EventErrored, Text: l.Data[0] + " build(s) errored"}}
		}
	case "error":
		if len(l.Data) > 0 {
			return []Event{{Time: l.Time, Kind: EventError, Source: l.Target, Text: l.Data[0]}}
		}
	}
	return nil
}

func (p *Parser) ui(l Line) []Event {
	if len(l.Data) < 2 {
		return nil
	}
	level, text := l.Data[0], strings.TrimSpace(strings.Join(l.Data[1:], ","))
	if text == "" {
		return nil
	}
	ev := Event{Time: l.Time, Text: text}
	if name, rest, ok := buildEnded(text); ok {
		ev.Source = name
		ev.Kind = EventFinished
		if strings.HasPrefix(rest, "errored") {
			ev.Kind = EventErrored
		}
		return []Event{ev}
	}
	ev.Source, ev.Text = splitSource(text)
	switch level {
	case "say":
		ev.Kind = EventMessage
		if strings.HasPrefix(text, "==> ") && ev.Source != "" {
			ev.Kind = EventStep
		}
	case "error":
		ev.Kind = EventError
	default:
		ev.Kind = EventMessage
	}
	return []Event{ev}
}

// buildEnded recognises "Build 'x' finished after ..." and "Build 'x' errored after ...".
func buildEnded(text string) (name, rest string, ok bool) {
	after, found := strings.CutPrefix(text, "Build '")
	if !found {
		return "", "", false
	}
	name, rest, found = strings.Cut(after, "' ")
	if !found || !(strings.HasPrefix(rest, "finished after") || strings.HasPrefix(rest, "errored after")) {
		return "", "", false
	}
	return name, rest, true
}

// splitSource takes "==> qemu.base: Doing x" or "    qemu.base: out" apart.
// Lines without a source ("==> Wait completed ...") keep their text whole.
func splitSource(text string) (source, msg string) {
	t := strings.TrimPrefix(strings.TrimPrefix(text, "==> "), "--> ")
	name, rest, ok := strings.Cut(t, ": ")
	if !ok || name == "" || strings.ContainsAny(name, " \t") && !strings.Contains(name, " (") {
		return "", text
	}
	if i := strings.Index(name, " ("); i > 0 { // "null.one (artifice)"
		name = name[:i]
	}
	if !strings.Contains(name, ".") {
		return "", text
	}
	return name, rest
}

func (p *Parser) artifact(l Line) []Event {
	if len(l.Data) < 2 {
		return nil
	}
	key := l.Target + "#" + l.Data[0]
	a := p.pending[key]
	if a == nil {
		a = &Artifact{Source: l.Target, Files: []string{}}
		p.pending[key] = a
	}
	switch l.Data[1] {
	case "builder-id":
		if len(l.Data) > 2 {
			a.BuilderID = l.Data[2]
		}
	case "id":
		if len(l.Data) > 2 {
			a.ID = strings.Join(l.Data[2:], ",")
			a.IDs = CloudIDs(a.ID)
		}
	case "file":
		if len(l.Data) > 3 {
			a.Files = append(a.Files, l.Data[3])
		}
	case "end":
		delete(p.pending, key)
		if a.BuilderID == "" && a.ID == "" && len(a.Files) == 0 {
			return nil // Packer reports an empty artifact for a build that made none
		}
		return []Event{{Time: l.Time, Kind: EventArtifact, Source: l.Target, Text: a.BuilderID, Artifact: a}}
	}
	return nil
}
