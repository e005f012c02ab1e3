package runner

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// runConcurrently starts n sleeper builds at once and returns each build's
// [start, end] as the provisioner recorded it.
func runConcurrently(t *testing.T, slots, n int) map[string][2]float64 {
	t.Helper()
	cat := testRepo(t)
	r, cfg := testRunner(t, func(c *Config) { c.Slots = slots })
	var wg sync.WaitGroup
	outs := make([]string, n)
	for i := range n {
		outs[i] = t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Build(context.Background(), cat, Request{Image: "sleeper", OutDir: outs[i], BuildID: "slot" + strconv.Itoa(i)}, nil)
			if err != nil || res.Status != StatusSucceeded {
				t.Errorf("build %d: %v %+v", i, err, res)
			}
		}()
	}
	wg.Wait()
	for i, out := range outs { // each build's artifact in its own directory
		if _, err := os.Stat(filepath.Join(out, "sleeper-0.1.0.qcow2")); err != nil {
			t.Errorf("build %d: %v", i, err)
		}
	}
	if left := leftovers(t, cfg.WorkDir); len(left) > 0 {
		t.Errorf("work directory holds %v", left)
	}
	data, err := os.ReadFile(filepath.Join(cat.Root, "spans.log"))
	if err != nil {
		t.Fatal(err)
	}
	spans := map[string][2]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[2], 64)
		s := spans[f[0]]
		if f[1] == "start" {
			s[0] = v
		} else {
			s[1] = v
		}
		spans[f[0]] = s
	}
	if len(spans) != n {
		t.Fatalf("spans = %v", spans)
	}
	return spans
}

func overlaps(spans map[string][2]float64) bool {
	var list [][2]float64
	for _, s := range spans {
		list = append(list, s)
	}
	for i := range list {
		for j := i + 1; j < len(list); j++ {
			if list[i][0] < list[j][1] && list[j][0] < list[i][1] {
				return true
			}
		}
	}
	return false
}

func TestSlotsBoundConcurrentBuilds(t *testing.T) {
	if spans := runConcurrently(t, 1, 2); overlaps(spans) {
		t.Errorf("one slot, yet two builds ran at once: %v", spans)
	}
	if spans := runConcurrently(t, 2, 2); !overlaps(spans) {
		t.Errorf("two slots, yet the builds ran one after the other: %v", spans)
	}
}
