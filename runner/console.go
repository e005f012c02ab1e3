package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/packer"
)

// consoleTailLines is how many console lines an "installing" step shows.
const consoleTailLines = 8

// console follows the file a machine's serial console is written to (the
// template's console_log) and copies it, line by line and redacted, into the
// build log and the build's events. While an installer runs (from Packer's
// "Waiting for SSH" until it connects) it also reports the step
// "installing (N min)" every minute, followed by the console's last lines,
// so a stuck install can be diagnosed from the page.
type console struct {
	b    *run
	path string
	tick time.Duration // how often the file is read
	unit time.Duration // the "N min" unit; a minute outside tests

	off     int64
	partial string
	tail    []string

	installing time.Time // zero: no installer running
	reported   int       // minutes last reported; -1: none yet
}

func newConsole(b *run, path string) *console {
	return &console{b: b, path: path, tick: 2 * time.Second, unit: time.Minute, reported: -1}
}

// follow reads the console until ctx ends, then reads what is left.
func (c *console) follow(ctx context.Context, installStarted <-chan time.Time, installEnded <-chan struct{}) {
	t := time.NewTicker(c.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.read(true)
			return
		case at := <-installStarted:
			c.installing, c.reported = at, -1
		case <-installEnded:
			c.installing = time.Time{}
		case <-t.C:
		}
		c.read(false)
		c.report(time.Now())
	}
}

// read copies new complete lines (all of them when final) into the log.
func (c *console) read(final bool) {
	f, err := os.Open(c.path)
	if err != nil {
		return // QEMU has not created it yet
	}
	defer f.Close()
	if _, err := f.Seek(c.off, io.SeekStart); err != nil {
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil || len(data) == 0 && !final {
		return
	}
	c.off += int64(len(data))
	// A full-screen program (the installer's dialogs inside GNU screen) moves
	// the cursor instead of writing newlines: each move starts a new line.
	text := lineDrawRE.ReplaceAllString(c.partial+string(data), " ")
	text = cursorMoveRE.ReplaceAllString(text, "\n")
	lines := strings.Split(text, "\n")
	c.partial = lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	if final || len(c.partial) > 4096 {
		lines = append(lines, c.partial)
		c.partial = ""
	}
	for _, l := range lines {
		l = cleanConsole(l)
		if l == "" || len(c.tail) > 0 && c.tail[len(c.tail)-1] == l {
			continue // redraws repeat lines
		}
		c.tail = append(c.tail, l)
		if len(c.tail) > consoleTailLines {
			c.tail = c.tail[len(c.tail)-consoleTailLines:]
		}
		c.b.logLine(time.Now(), "console: "+l)
		c.b.emit(packer.Event{Time: time.Now(), Kind: packer.EventMessage, Source: "console", Text: c.b.redactor.String("console: " + l)})
	}
}

// report sends "installing (N min)" and the console tail once per unit.
func (c *console) report(now time.Time) {
	if c.installing.IsZero() {
		return
	}
	n := int(now.Sub(c.installing) / c.unit)
	if n == c.reported {
		return
	}
	c.reported = n
	step := fmt.Sprintf("installing (%d min)", n)
	c.b.logf("%s", step)
	c.b.emit(packer.Event{Time: now, Kind: packer.EventStep, Text: step})
	tail := append([]string(nil), c.tail...)
	if p := cleanConsole(c.partial); p != "" {
		tail = append(tail, p)
	}
	if len(tail) > 0 {
		c.b.emit(packer.Event{Time: now, Kind: packer.EventMessage, Source: "console",
			Text: c.b.redactor.String("console tail:\n  " + strings.Join(tail, "\n  "))})
	}
}

var (
	// line drawing between ESC ( 0 and ESC ( B: the installer's dialog frames
	lineDrawRE = regexp.MustCompile(`\x1b\(0[^\x1b]*(\x1b\(B)?`)
	ansiRE     = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78])`)
	spacesRE   = regexp.MustCompile(`[ \t]{3,}`)
	// what is left of a dialog frame drawn across cursor moves
	frameRE      = regexp.MustCompile(`^[lqkmjxtu]+$`)
	frameStartRE = regexp.MustCompile(`^(l?q{3,}u?|x) +`)
	frameEndRE   = regexp.MustCompile(` +(tq{3,}k?|x)$`)
	// cursor positioning (and screen's cursor-down), see read
	cursorMoveRE = regexp.MustCompile(`\x1b\[[0-9;]*[HfB]`)
	// GNU screen's status line, which bookworm's installer redraws each minute
	screenStatusRE = regexp.MustCompile(`^\[.*\]\[ *[A-Z][a-z]{2} +[0-9]+ +[0-9]{2}:[0-9]{2} *\]$`)
)

// cleanConsole turns raw console output into readable text: control
// sequences become spaces (they often move the cursor between words), dialog
// frames and screen's status line go, the last of several
// carriage-return-overwritten versions of a line stays.
func cleanConsole(l string) string {
	l = lineDrawRE.ReplaceAllString(l, " ")
	l = ansiRE.ReplaceAllString(l, " ")
	if i := strings.LastIndex(strings.TrimRight(l, "\r"), "\r"); i >= 0 {
		l = l[i+1:]
	}
	l = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, l)
	l = strings.TrimSpace(spacesRE.ReplaceAllString(l, "  "))
	l = strings.TrimPrefix(l, frameStartRE.FindString(l))
	l = strings.TrimSuffix(l, frameEndRE.FindString(l))
	if screenStatusRE.MatchString(l) || frameRE.MatchString(l) {
		return ""
	}
	return l
}
