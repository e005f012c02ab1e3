package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/redact"
)

// The serial console reaches the build log line by line (control sequences
// dropped, secrets masked), and while the installer runs the step reads
// "installing (N min)" with the console's last lines after it.
func TestConsoleIntoLogAndInstallingStep(t *testing.T) {
	dir := t.TempDir()
	logPath, consolePath := filepath.Join(dir, "build.log"), filepath.Join(dir, "console.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var evs events
	b := &run{
		img: &catalog.Image{Name: "debian12"}, res: &Result{}, onEvent: evs.add,
		redactor: redact.New("hunter2-build-pw"), log: logf, installer: true,
	}
	stop := b.followConsole(consolePath)
	write := func(s string) {
		f, err := os.OpenFile(consolePath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	write("\x1b[H\x1b[7mISOLINUX 6.04\x1b[0m\r\nboot: install url=http://10.0.2.2:8080/preseed.cfg\n")
	b.noteInstall(packer.Event{Kind: packer.EventStep, Text: "Waiting for SSH to become available..."})
	write("Retrieving file 1 of 22\nInstalling the base system  ... 42%\npassword hunter2-build-pw\nSelect and install soft")
	evs.waitFor(t, 10*time.Second, func(ev packer.Event) bool {
		return ev.Kind == packer.EventStep && ev.Text == "installing (0 min)"
	})
	evs.waitFor(t, 10*time.Second, func(ev packer.Event) bool {
		return strings.HasPrefix(ev.Text, "console tail:") && strings.Contains(ev.Text, "Installing the base system")
	})
	b.noteInstall(packer.Event{Kind: packer.EventStep, Text: "Connected to SSH!"})
	write("ware\n")
	stop()
	b.close()

	if b.res.LastStep != "installing (0 min)" {
		t.Errorf("last step %q", b.res.LastStep)
	}
	var tail string
	for _, ev := range evs.list() {
		if strings.HasPrefix(ev.Text, "console tail:") {
			tail = ev.Text
		}
	}
	for _, want := range []string{"Retrieving file 1 of 22", "Installing the base system  ... 42%", "Select and install soft"} {
		if !strings.Contains(tail, want) {
			t.Errorf("console tail %q lacks %q", tail, want)
		}
	}
	data, _ := os.ReadFile(logPath)
	log := string(data)
	for _, want := range []string{"console: ISOLINUX 6.04", "console: boot: install url=http://10.0.2.2:8080/preseed.cfg",
		"console: Installing the base system  ... 42%", "console: Select and install software", "installing (0 min)"} {
		if !strings.Contains(log, want) {
			t.Errorf("build log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "hunter2-build-pw") || strings.Contains(tail, "hunter2-build-pw") {
		t.Errorf("a secret from the console reached the log or the page")
	}
	if strings.Contains(log, "\x1b") {
		t.Errorf("control sequences reached the log:\n%q", log)
	}
}

// Every minute of the install is reported once, counted from its start.
func TestConsoleReportsEachMinuteOnce(t *testing.T) {
	var evs events
	b := &run{img: &catalog.Image{Name: "x"}, res: &Result{}, onEvent: evs.add, redactor: redact.New()}
	c := newConsole(b, filepath.Join(t.TempDir(), "none"))
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c.installing = start
	for _, s := range []int{0, 10, 59, 60, 61, 125, 130, 600} {
		c.report(start.Add(time.Duration(s) * time.Second))
	}
	var steps []string
	for _, ev := range evs.list() {
		if ev.Kind == packer.EventStep {
			steps = append(steps, ev.Text)
		}
	}
	want := "installing (0 min)|installing (1 min)|installing (2 min)|installing (10 min)"
	if got := strings.Join(steps, "|"); got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
}

func TestCleanConsole(t *testing.T) {
	tests := map[string]string{
		"\x1b[1;32mplain\x1b[0m":              "plain",
		"10%\r20%\r30%":                       "30%",
		"line\r":                              "line",
		"\x1b(B\x1b[?25lhidden cursor\x1b=\a": "hidden cursor",
		"   ":                                 "",
	}
	for in, want := range tests {
		if got := cleanConsole(in); got != want {
			t.Errorf("cleanConsole(%q) = %q, want %q", in, got, want)
		}
	}
}
