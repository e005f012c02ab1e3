package checks

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/testenv"
)

// The overlay the guest writes to has the disk as its backing file, in the
// disk's own format (the runner boots the raw copy its artifacts are
// converted from; a qcow2 when there is no such copy), reads exactly as the
// disk, and leaves the disk unchanged when written.
func TestNewOverlay(t *testing.T) {
	qemuImg, qemuIO := testenv.Tool(t, "qemu-img"), testenv.Tool(t, "qemu-io")
	for _, format := range []string{"raw", "qcow2"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			disk := filepath.Join(dir, "disk."+format)
			runTool(t, qemuImg, "create", "-q", "-f", format, disk, "4M")
			runTool(t, qemuIO, "-f", format, "-c", "write -P 0x5a 0 1M", disk)
			overlay := filepath.Join(dir, "overlay.qcow2")
			if err := newOverlay(context.Background(), qemuImg, disk, format, overlay); err != nil {
				t.Fatal(err)
			}
			var info struct {
				Format        string `json:"format"`
				BackingFormat string `json:"backing-filename-format"`
			}
			if err := json.Unmarshal([]byte(runTool(t, qemuImg, "info", "--output=json", overlay)), &info); err != nil {
				t.Fatal(err)
			}
			if info.Format != "qcow2" || info.BackingFormat != format {
				t.Errorf("overlay %+v, want a qcow2 on a %s backing file", info, format)
			}
			runTool(t, qemuImg, "compare", "-q", overlay, disk)
			runTool(t, qemuIO, "-f", "qcow2", "-c", "write -P 0x11 0 64k", overlay)
			// qemu-io exits 1 on "Pattern verification failed".
			runTool(t, qemuIO, "-f", format, "-c", "read -P 0x5a 0 1M", disk)
		})
	}
}

func TestBootRefusesUnknownFormat(t *testing.T) {
	_, err := Boot(context.Background(), "disk.vmdk", BootOptions{Format: "vmdk", WorkDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `format "vmdk": want qcow2 or raw`) {
		t.Fatalf("err = %v", err)
	}
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
