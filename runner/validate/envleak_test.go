package validate

import (
	"strings"
	"testing"
)

// TestValidateDoesNotSeeImagebotsEnvironment: `packer validate` evaluates
// the merge request's template; one whose error quotes env() of a forge
// token must find it empty (the diagnostic goes into the MR comment).
func TestValidateDoesNotSeeImagebotsEnvironment(t *testing.T) {
	const secret = "glpat-ValidateLeak-4711"
	t.Setenv("IMAGEBOT_GITLAB_TOKEN", secret)
	rep := run(t, "testdata/envleak", "envleak")
	all := rep.Diagnostics.Error()
	if strings.Contains(all, secret) {
		t.Fatalf("a diagnostic holds imagebot's token:\n%s", all)
	}
	if !strings.Contains(all, `with var.tok as ""`) {
		t.Fatalf("packer validate did not evaluate the template (the test would be vacuous):\n%s", all)
	}
}
