package fakeapi

import "sync"

// Comment is a comment as a fake forge holds it.
type Comment struct {
	ID      int64
	Body    string   // current body
	History []string // every body it had, first to current
}

// Comments keeps comments per thread (a merge request, keyed by K), with
// ids unique over all threads.
type Comments[K comparable] struct {
	mu    sync.Mutex
	next  int64
	byKey map[K][]*Comment
	byID  map[int64]K
}

// NewComments returns an empty store whose first id is firstID+1.
func NewComments[K comparable](firstID int64) *Comments[K] {
	return &Comments[K]{next: firstID, byKey: map[K][]*Comment{}, byID: map[int64]K{}}
}

// Add posts body on thread k.
func (c *Comments[K]) Add(k K, body string) Comment {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	n := &Comment{ID: c.next, Body: body, History: []string{body}}
	c.byKey[k] = append(c.byKey[k], n)
	c.byID[n.ID] = k
	return copyOf(n)
}

// Edit replaces comment id's body; false when id is not on thread k.
func (c *Comments[K]) Edit(k K, id int64, body string) (Comment, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if owner, ok := c.byID[id]; !ok || owner != k {
		return Comment{}, false
	}
	for _, n := range c.byKey[k] {
		if n.ID == id {
			n.Body = body
			n.History = append(n.History, body)
			return copyOf(n), true
		}
	}
	return Comment{}, false
}

// Thread says which thread comment id is on.
func (c *Comments[K]) Thread(id int64) (K, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.byID[id]
	return k, ok
}

// List returns thread k's comments, oldest first (copies).
func (c *Comments[K]) List(k K) []Comment {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Comment
	for _, n := range c.byKey[k] {
		out = append(out, copyOf(n))
	}
	return out
}

func copyOf(n *Comment) Comment {
	c := *n
	c.History = append([]string(nil), n.History...)
	return c
}

// Statuses logs commit status calls per commit.
type Statuses[S any] struct {
	mu    sync.Mutex
	bySHA map[string][]S
}

// Add logs st on sha and returns how many sha now has.
func (s *Statuses[S]) Add(sha string, st S) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySHA == nil {
		s.bySHA = map[string][]S{}
	}
	s.bySHA[sha] = append(s.bySHA[sha], st)
	return len(s.bySHA[sha])
}

// List returns sha's status calls in order.
func (s *Statuses[S]) List(sha string) []S {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]S(nil), s.bySHA[sha]...)
}

// Last is the latest status on sha that is named name.
func (s *Statuses[S]) Last(sha string, named func(S) bool) S {
	var last S
	for _, st := range s.List(sha) {
		if named(st) {
			last = st
		}
	}
	return last
}
