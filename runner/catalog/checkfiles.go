package catalog

import (
	"fmt"
	"path"
	"strings"

	"github.com/imagebot/imagebot/runner/checks"
)

// ChecksDir is where env.yaml `checks:` names its files (<name>.yaml).
const ChecksDir = "resources/checks"

// checkCheckFiles reports, at the env.yaml line naming it, every `checks:`
// entry whose resources/checks/<name>.yaml is missing, unreadable or not a
// valid spec (runner/checks' parser, which names the spec's line), so
// `imagebot validate` refuses it before a build boots anything. A check file
// that no `inputs:` entry covers is a warning: editing it would not mark the
// image for a rebuild.
func (li *loadedImage) checkCheckFiles(root string) {
	for i, name := range li.img.Env.Checks {
		p := li.envPos[fmt.Sprintf("checks.%d", i)]
		file := ChecksDir + "/" + name + ".yaml"
		data, err := readRepoFile(root, file)
		if err != nil {
			li.errorf(p, "field checks: %q needs the file %s: %v", name, file, unwrapPathError(err))
			continue
		}
		if _, err := checks.Parse(name, data); err != nil {
			li.errorf(p, "field checks: %q: %s: %v", name, file, err)
			continue
		}
		if !coveredByInputs(file, li.img.Env.Inputs) {
			li.diags = append(li.diags, warningAt(li.img.Name, p,
				"field checks: %s is not listed in inputs: editing it will not mark %s for a rebuild", file, li.img.Name))
		}
	}
}

// coveredByInputs reports whether file is one of inputs or lies under one.
func coveredByInputs(file string, inputs []string) bool {
	for _, in := range inputs {
		in = path.Clean(in)
		if file == in || strings.HasPrefix(file, in+"/") {
			return true
		}
	}
	return false
}
