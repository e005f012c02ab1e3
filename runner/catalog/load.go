package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// An image's directory name: it becomes part of artifact keys and URLs.
var imageNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Load reads every images/<name>/ under root. The catalog it returns holds
// every image it could read, even those with problems; the diagnostics say
// what is wrong, and an image with errors has an empty Digest.
func Load(root string) (*Catalog, Diagnostics) {
	return LoadContext(context.Background(), root)
}

// LoadContext is Load with a context for the `bash -n` checks it runs.
func LoadContext(ctx context.Context, root string) (*Catalog, Diagnostics) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return &Catalog{Root: root, Images: map[string]*Image{}}, Diagnostics{{File: root, Severity: SeverityError, Message: fmt.Sprintf("repository root: %v", err)}}
	}
	cat := &Catalog{Root: abs, Images: map[string]*Image{}}
	entries, err := os.ReadDir(filepath.Join(abs, "images"))
	if err != nil {
		return cat, Diagnostics{{File: "images", Severity: SeverityError, Message: fmt.Sprintf("cannot read the images directory of %s: %v", abs, err)}}
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	loaded := make([]*loadedImage, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			loaded[i] = loadImage(ctx, abs, name)
		}()
	}
	wg.Wait()

	var diags Diagnostics
	byName := map[string]*loadedImage{}
	for _, li := range loaded {
		cat.Images[li.img.Name] = li.img
		byName[li.img.Name] = li
		diags = append(diags, li.diags...)
	}
	diags = append(diags, orderImages(cat, byName)...)
	diags = append(diags, computeDigests(cat, byName, diags)...)
	diags.Sort()
	return cat, diags
}

// loadedImage is an image with what loading it learned on the way.
type loadedImage struct {
	img    *Image
	envPos map[string]Pos // env.yaml key paths to where they were written
	diags  Diagnostics
}

func loadImage(ctx context.Context, root, name string) *loadedImage {
	dir := "images/" + name
	li := &loadedImage{img: &Image{Name: name, Dir: dir}, envPos: map[string]Pos{}}
	img := li.img
	if !imageNameRE.MatchString(name) {
		li.errorf(Pos{File: dir}, "image directory name %q must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	envFile := dir + "/env.yaml"
	if src, err := readRepoFile(root, envFile); err != nil {
		li.errorf(Pos{File: envFile}, "cannot read env.yaml (every image directory needs one): %v", err)
	} else {
		var d Diagnostics
		img.Env, li.envPos, d = parseEnv(name, envFile, src)
		img.EnvPos = li.envPos
		li.diags = append(li.diags, d...)
		if p, ok := li.envPos["name"]; ok && img.Env.Name != "" && img.Env.Name != name {
			li.errorf(p, "name %q does not match the image's directory %s: it must be %q", img.Env.Name, dir, name)
		}
	}
	li.loadTemplate(root)
	li.checkInputs(root)
	li.checkCheckFiles(root)
	li.checkProvisioner(ctx, root)
	return li
}

func (li *loadedImage) errorf(p Pos, format string, args ...any) {
	li.diags = append(li.diags, errorAt(li.img.Name, p, format, args...))
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadTemplate parses <name>.pkr.hcl and any other *.pkr.hcl beside it:
// Packer runs on the directory, so together they are the template.
func (li *loadedImage) loadTemplate(root string) {
	img := li.img
	tplFile := img.Dir + "/" + img.Name + ".pkr.hcl"
	img.Template.Path = tplFile
	dir := filepath.Join(root, img.Dir)
	if _, err := os.Stat(filepath.Join(root, tplFile)); err != nil {
		others, _ := filepath.Glob(filepath.Join(dir, "*.pkr.hcl"))
		hint := ""
		if len(others) > 0 {
			hint = fmt.Sprintf(" (found %s: the main template is named after the directory)", filepath.Base(others[0]))
		}
		li.errorf(Pos{File: tplFile}, "cannot read the Packer template: %v%s", unwrapPathError(err), hint)
		return
	}
	if jsons, _ := filepath.Glob(filepath.Join(dir, "*.pkr.json")); len(jsons) > 0 {
		li.errorf(Pos{File: img.Dir + "/" + filepath.Base(jsons[0])}, "imagebot reads HCL2 templates only: convert it with `packer hcl2_upgrade` or remove it")
	}
	files := []string{filepath.Join(dir, img.Name+".pkr.hcl")} // the main template first
	others, _ := filepath.Glob(filepath.Join(dir, "*.pkr.hcl"))
	for _, f := range others {
		if filepath.Base(f) != img.Name+".pkr.hcl" {
			files = append(files, f)
		}
	}
	var pts []*parsedTemplate
	var merged Template
	merged.Path = tplFile
	for _, abs := range files {
		rel := img.Dir + "/" + filepath.Base(abs)
		src, err := readRepoFile(root, abs)
		if err != nil {
			li.errorf(Pos{File: rel}, "cannot read the template: %v", err)
			continue
		}
		pt, tpl, d := parseTemplate(img.Name, rel, src)
		li.diags = append(li.diags, d...)
		if pt == nil {
			img.Template = merged
			return // a syntax error: references cannot be trusted
		}
		pts = append(pts, pt)
		merged.Variables = append(merged.Variables, tpl.Variables...)
		merged.Sources = append(merged.Sources, tpl.Sources...)
		merged.Builds = append(merged.Builds, tpl.Builds...)
		merged.RequiredPlugins = append(merged.RequiredPlugins, tpl.RequiredPlugins...)
		if tpl.RequiredVersion != "" {
			merged.RequiredVersion = tpl.RequiredVersion
		}
	}
	img.Template = merged
	li.diags = append(li.diags, checkTemplate(img.Name, merged)...)
	declared := map[string]bool{}
	for _, v := range merged.Variables {
		declared[v.Name] = true
	}
	for _, k := range sortedKeys(img.Env.Variables) {
		p := li.envPos["variables."+k]
		switch {
		case merged.Injects(k):
			li.errorf(p, "variable %q is set by imagebot itself; remove it from env.yaml", k)
		case !declared[k]:
			li.errorf(p, "variable %q is not declared in %s (Packer refuses a value for an undeclared variable)", k, tplFile)
		}
	}
	vals := li.autoVars(root, dir)
	for k, v := range img.Env.Variables {
		vals[k] = cty.StringVal(v)
	}
	refs, rd := findRefs(pts, root, dir, vals, merged)
	img.Template.Files = refs
	li.diags = append(li.diags, rd...)
}

// autoVars reads the static values of *.auto.pkrvars.hcl files, which
// Packer loads by itself when it runs on the directory.
func (li *loadedImage) autoVars(root, dir string) map[string]cty.Value {
	vals := map[string]cty.Value{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.auto.pkrvars.hcl"))
	sort.Strings(files)
	for _, abs := range files {
		rel := li.img.Dir + "/" + filepath.Base(abs)
		src, err := readRepoFile(root, abs)
		if err != nil {
			li.errorf(Pos{File: rel}, "cannot read the variables file: %v", err)
			continue
		}
		f, hd := hclsyntax.ParseConfig(src, rel, hcl.InitialPos)
		li.diags = append(li.diags, fromHCL(li.img.Name, hd)...)
		if hd.HasErrors() {
			continue
		}
		attrs, _ := f.Body.JustAttributes()
		for name, a := range attrs {
			if v, d := a.Expr.Value(nil); !d.HasErrors() && v.IsWhollyKnown() {
				vals[name] = v
			}
		}
	}
	return vals
}

func (li *loadedImage) checkInputs(root string) {
	for i, in := range li.img.Env.Inputs {
		p := li.envPos[fmt.Sprintf("inputs.%d", i)]
		if strings.HasPrefix(in, "..") || filepath.IsAbs(in) {
			continue // already reported by the parser
		}
		if _, err := os.Lstat(filepath.Join(root, in)); err != nil {
			li.errorf(p, "input %q does not exist in the repository", in)
		} else if _, err := resolveInRepo(root, in); errors.Is(err, errLeaves) {
			li.errorf(p, "input %q: %v", in, err)
		}
	}
}

// The line bash names in `bash -n` output: "provisioner.sh: line 7: message".
var bashLineRE = regexp.MustCompile(`line (\d+): (.*)$`)

func (li *loadedImage) checkProvisioner(ctx context.Context, root string) {
	file := li.img.Dir + "/provisioner.sh"
	if err := checkRepoFile(root, file); err != nil {
		li.errorf(Pos{File: file}, "cannot read provisioner.sh (every image directory needs one): %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-n", "provisioner.sh")
	cmd.Dir = filepath.Join(root, li.img.Dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		li.errorf(Pos{File: file}, "cannot run bash -n on provisioner.sh: %v", err)
		return
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if m := bashLineRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			li.errorf(Pos{File: file, Line: n, Column: 1}, "shell syntax error (bash -n): %s", m[2])
			return
		}
	}
	li.errorf(Pos{File: file}, "bash -n failed: %s", strings.TrimSpace(stderr.String()))
}

// orderImages checks every base and sets the build order.
func orderImages(cat *Catalog, byName map[string]*loadedImage) Diagnostics {
	var diags Diagnostics
	names := sortedKeys(cat.Images)
	for _, n := range names {
		img := cat.Images[n]
		if _, ok := cat.Images[img.Env.Base]; img.Env.Base != "" && !ok {
			diags = append(diags, errorAt(n, byName[n].envPos["base"], "base image %q does not exist%s", img.Env.Base, Suggest(img.Env.Base, names)))
		}
	}
	order, cycles := buildOrder(cat.Images)
	for _, n := range names {
		if chain, ok := cycles[n]; ok {
			diags = append(diags, errorAt(n, byName[n].envPos["base"], "base cycle: %s: an image cannot derive from itself, directly or through others", strings.Join(chain, " -> ")))
		}
	}
	cat.Order = order
	return diags
}

// buildOrder sorts images by their depth in the base chain, then by name,
// so every base comes before its children. Images in a base cycle come last;
// cycles maps each image on a cycle to the cycle as seen from it (a -> b -> a).
func buildOrder(images map[string]*Image) (order []string, cycles map[string][]string) {
	const cyclic = 1 << 30
	depth := map[string]int{}
	cycles = map[string][]string{}
	order = sortedKeys(images)
	for _, n := range order {
		chain := []string{n}
		seen := map[string]bool{n: true}
		for cur := n; ; {
			img := images[cur]
			b := ""
			if img != nil {
				b = img.Env.Base
			}
			if _, ok := images[b]; b == "" || !ok {
				depth[n] = len(chain) - 1
				break
			}
			if seen[b] {
				depth[n] = cyclic
				if b == n {
					cycles[n] = append(chain, b)
				}
				break
			}
			seen[b] = true
			chain = append(chain, b)
			cur = b
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return depth[order[i]] < depth[order[j]] })
	return order, cycles
}

// Suggest returns ` (did you mean "x"?)` for the known name closest to name,
// or else ` (known images: a, b)`, to end an error message about an unknown image.
func Suggest(name string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && bestD <= len(name)/2+1 {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(known) == 0 {
		return ""
	}
	return fmt.Sprintf(" (known images: %s)", strings.Join(known, ", "))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
