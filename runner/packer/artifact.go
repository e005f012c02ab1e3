package packer

import (
	"regexp"
	"strings"
)

// A cloud region or zone as Packer's cloud builders name it: us-east-1,
// eu-west-2, us-gov-west-1, cn-north-1 (amazon), us-central1-a (gcp): lower
// case words joined by dashes. The dash keeps "sha256:..." (a docker id) out.
var regionRE = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// CloudIDs reads an artifact id of the form Packer's amazon builders
// report, "region:id" pairs joined by commas ("us-east-1:ami-0a1,eu-west-1:ami-0b2"),
// into a map by region. It returns nil for any other id (a qcow2 path, a
// vSphere VM name), so that only real per-region ids are recorded as such.
func CloudIDs(id string) map[string]string {
	if id == "" {
		return nil
	}
	out := map[string]string{}
	for _, part := range strings.Split(id, ",") {
		region, value, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || value == "" || !regionRE.MatchString(region) || strings.ContainsAny(value, " /\\") {
			return nil
		}
		out[region] = value
	}
	return out
}
