package statebackup

import (
	"errors"
	"net/url"
	"strings"
)

// splitPassword returns the connection string without its password, and
// the password. Both forms libpq reads are understood: a URL
// (postgres://user:pw@host/db) and key=value words (host=h password=pw).
func splitPassword(conn string) (string, string, error) {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			// url's error quotes the URL, password and all.
			return "", "", errors.New("database URL does not parse (its text is not shown: it may hold the password)")
		}
		pw, _ := u.User.Password()
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		if p := q.Get("password"); p != "" {
			pw = p
			q.Del("password")
			u.RawQuery = q.Encode()
		}
		return u.String(), pw, nil
	}
	var keep []string
	pw := ""
	for _, w := range strings.Fields(conn) {
		if v, ok := strings.CutPrefix(w, "password="); ok {
			pw = strings.Trim(v, "'")
			continue
		}
		keep = append(keep, w)
	}
	return strings.Join(keep, " "), pw, nil
}
