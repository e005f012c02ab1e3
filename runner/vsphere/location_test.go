package vsphere

import "testing"

func TestParseLocationReadsWhatStringWrote(t *testing.T) {
	for _, l := range []Location{
		{Server: "vc.example.test", Library: "golden", Item: "rocky9-1.2.0", ItemID: "abc-123"},
		{Server: "127.0.0.1:8443", Library: "team/golden images", Item: "app-1.0.0", ItemID: "x"},
	} {
		got, err := ParseLocation(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v", l.String(), got, err, l)
		}
	}
	for _, bad := range []string{"", "s3://x/y/z", "vsphere://server", "vsphere://server/item", "vsphere://server/lib/"} {
		if _, err := ParseLocation(bad); err == nil {
			t.Errorf("ParseLocation(%q) accepted", bad)
		}
	}
}
