package builds

import "sync"

// dirLocks serialises work on one checkout directory. An entry lives only
// while someone holds or waits for it, so a long-running bot keeps no lock
// per commit it ever fetched (issue 11: lock maps grew forever).
type dirLocks struct {
	mu sync.Mutex
	m  map[string]*dirLock
}

type dirLock struct {
	sync.Mutex
	refs int // holders and waiters
}

// lock waits for dir's lock; call the returned func to release it.
func (d *dirLocks) lock(dir string) (unlock func()) {
	l := d.ref(dir)
	l.Lock()
	return func() { l.Unlock(); d.unref(dir, l) }
}

// tryLock takes dir's lock only if it is free.
func (d *dirLocks) tryLock(dir string) (unlock func(), ok bool) {
	l := d.ref(dir)
	if !l.TryLock() {
		d.unref(dir, l)
		return nil, false
	}
	return func() { l.Unlock(); d.unref(dir, l) }, true
}

func (d *dirLocks) ref(dir string) *dirLock {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]*dirLock{}
	}
	l := d.m[dir]
	if l == nil {
		l = &dirLock{}
		d.m[dir] = l
	}
	l.refs++
	return l
}

func (d *dirLocks) unref(dir string, l *dirLock) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(d.m, dir)
	}
}
