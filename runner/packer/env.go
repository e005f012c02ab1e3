package packer

import (
	"os"
	"strings"
)

// passedThrough are the variables of imagebot's own environment a build
// gets, by exact name: where programs are, the proxy to the outside world
// and where Packer's plugins live. Nothing else of imagebot's environment
// (forge tokens, webhook secrets, store keys, the database URL) reaches a
// build: a template reads its environment with env() and a shell-local
// provisioner with $VAR, and both are written by whoever opened the MR.
var passedThrough = []string{
	"PATH",
	"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"PACKER_PLUGIN_PATH",
	"LANG", "TZ",
}

// Environ returns the environment of a build: the allow-listed variables of
// parent (imagebot's own environment, as os.Environ gives it), HOME and
// TMPDIR of the build's own, Packer's switches, then extra (PACKER_CACHE_DIR,
// the PKR_VAR_s of sensitive variables). A later entry wins.
func Environ(parent []string, home, tmp string, extra []string) []string {
	allowed := map[string]bool{}
	for _, n := range passedThrough {
		allowed[n] = true
	}
	var env []string
	for _, kv := range parent {
		if name, _, ok := strings.Cut(kv, "="); ok && allowed[name] {
			env = append(env, kv)
		}
	}
	if !hasVar(env, "PATH") {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	if home != "" {
		env = append(env, "HOME="+home)
	}
	if tmp != "" {
		// Ansible keeps its SSH control sockets under HOME by default; a
		// build's HOME is deep in its work dir, past the 108 bytes a unix
		// socket path may have ("ControlPath too long"). TMPDIR is short.
		env = append(env, "TMPDIR="+tmp, "ANSIBLE_SSH_CONTROL_PATH_DIR="+tmp+"/ansible-cp")
	}
	env = append(env, "PACKER_NO_COLOR=1", "CHECKPOINT_DISABLE=1", "PACKER_LOG=0")
	return dedupe(append(env, extra...))
}

func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// dedupe keeps the last entry of each name, in the order of first appearance.
func dedupe(env []string) []string {
	last := map[string]string{}
	var order []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := last[name]; !ok {
			order = append(order, name)
		}
		last[name] = kv
	}
	out := make([]string, 0, len(order))
	for _, n := range order {
		out = append(out, last[n])
	}
	return out
}

// osEnviron is os.Environ, the parent environment Build filters.
var osEnviron = os.Environ
