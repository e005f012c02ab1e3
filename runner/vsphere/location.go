package vsphere

import (
	"fmt"
	"strings"
)

// ParseLocation reads back what Location.String wrote into a manifest's
// "published" entry: "vsphere://server/library/item (item id)". The library
// name may hold slashes; the server and the item name do not.
func ParseLocation(where string) (Location, error) {
	rest, ok := strings.CutPrefix(where, "vsphere://")
	if !ok {
		return Location{}, fmt.Errorf("vsphere location %q: want vsphere://server/library/item (item id)", where)
	}
	var l Location
	if i := strings.LastIndex(rest, " (item "); i >= 0 && strings.HasSuffix(rest, ")") {
		l.ItemID = rest[i+len(" (item ") : len(rest)-1]
		rest = rest[:i]
	}
	server, path, ok := strings.Cut(rest, "/")
	j := strings.LastIndex(path, "/")
	if !ok || j <= 0 || j == len(path)-1 || server == "" {
		return Location{}, fmt.Errorf("vsphere location %q: want vsphere://server/library/item (item id)", where)
	}
	l.Server, l.Library, l.Item = server, path[:j], path[j+1:]
	return l, nil
}
