package builds

import (
	"sync"
	"testing"
)

// TestDirLocks: one holder per directory at a time, a busy directory
// refuses tryLock, and no entry outlives its holders and waiters.
func TestDirLocks(t *testing.T) {
	var d dirLocks
	var wg sync.WaitGroup
	var mu sync.Mutex
	inside := map[string]int{}
	for i := 0; i < 64; i++ {
		dir := []string{"a", "b", "c"}[i%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := d.lock(dir)
			mu.Lock()
			inside[dir]++
			if inside[dir] > 1 {
				t.Errorf("%d holders of %s at once", inside[dir], dir)
			}
			mu.Unlock()
			mu.Lock()
			inside[dir]--
			mu.Unlock()
			unlock()
		}()
	}
	wg.Wait()
	if n := d.held(); n != 0 {
		t.Fatalf("%d entries kept after every holder released", n)
	}
	unlock := d.lock("a")
	if _, ok := d.tryLock("a"); ok {
		t.Fatal("tryLock took a held directory")
	}
	other, ok := d.tryLock("b")
	if !ok {
		t.Fatal("tryLock refused a free directory")
	}
	other()
	unlock()
	if n := d.held(); n != 0 {
		t.Fatalf("%d entries kept after tryLock and lock released", n)
	}
}

// held is how many directories have a holder or waiter (tests).
func (d *dirLocks) held() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}
