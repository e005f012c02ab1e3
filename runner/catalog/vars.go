package catalog

// Variables imagebot injects into a template, each only where the template
// declares a `variable` of that name (Packer refuses an undeclared -var).
// Values from env.yaml `variables:` come on top; imagebot's own win.
//
// Packer runs with its working directory set to the image's directory, so a
// relative path and "${path.root}" both mean images/<name>/.
const (
	VarImageName         = "image_name"          // env.yaml name
	VarImageVersion      = "image_version"       // the version being built
	VarBuildID           = "build_id"            // unique per build
	VarOutputDirectory   = "output_directory"    // where Packer must write its output (must not exist yet)
	VarGitSHA            = "git_sha"             // commit of the images repository
	VarBaseImage         = "base_image"          // path of the base image's disk (qemu) or its template name (vSphere)
	VarBaseImageChecksum = "base_image_checksum" // "sha256:<hex>" of that disk, or "none"
	VarAccelerator       = "accelerator"         // qemu accelerator chosen by a real check: kvm or tcg
	VarRepoRoot          = "repo_root"           // absolute path of the repository checkout
	VarCacheDirectory    = "cache_directory"     // shared download cache, by checksum
)

// InjectedVariables lists every name above, in a stable order.
var InjectedVariables = []string{
	VarImageName, VarImageVersion, VarBuildID, VarOutputDirectory, VarGitSHA,
	VarBaseImage, VarBaseImageChecksum, VarAccelerator, VarRepoRoot, VarCacheDirectory,
}
