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
	VarISOURL            = "iso_url"             // the installer ISO, found by its file name (docs/installer.md)
	VarConsoleLog        = "console_log"         // file for the machine's serial console; copied into the build log
)

// vSphere variables, injected where declared into templates with vsphere-iso
// or vsphere-clone sources. Their values come from imagebot's vSphere
// configuration and environment (never from the repository) and from the
// build; runner/vsphere.Vars computes them. For a vsphere-clone image,
// VarBaseImage is the kept template of its base (vsphere.TemplateName).
const (
	VarVCenterServer      = "vcenter_server"      // host[:port] of vCenter
	VarVCenterUsername    = "vcenter_username"    // e.g. administrator@vsphere.local
	VarVCenterPassword    = "vcenter_password"    // declare it `sensitive = true`
	VarInsecureConnection = "insecure_connection" // "true" skips TLS verification
	VarDatacenter         = "datacenter"
	VarCluster            = "cluster" // cluster or host (or both)
	VarHost               = "host"
	VarResourcePool       = "resource_pool" // "" for the cluster's or host's root pool
	VarDatastore          = "datastore"
	VarNetwork            = "network"
	VarFolder             = "folder"   // VM folder under the datacenter's vm folder
	VarVMName             = "vm_name"  // imagebot-<build id>-<image>: how cleanup finds a build's machines
	VarVMNotes            = "vm_notes" // the machine's annotation (Packer's notes), naming the build id
)

// IsVSphereVariable reports whether name is one of the vSphere variables above,
// injected only into templates with vsphere-iso or vsphere-clone sources.
func IsVSphereVariable(name string) bool {
	switch name {
	case VarVCenterServer, VarVCenterUsername, VarVCenterPassword, VarInsecureConnection,
		VarDatacenter, VarCluster, VarHost, VarResourcePool, VarDatastore, VarNetwork,
		VarFolder, VarVMName, VarVMNotes:
		return true
	}
	return false
}

// InjectedVariables lists every name above, in a stable order.
var InjectedVariables = []string{
	VarImageName, VarImageVersion, VarBuildID, VarOutputDirectory, VarGitSHA,
	VarBaseImage, VarBaseImageChecksum, VarAccelerator, VarRepoRoot, VarCacheDirectory,
	VarISOURL, VarConsoleLog,
	VarVCenterServer, VarVCenterUsername, VarVCenterPassword, VarInsecureConnection,
	VarDatacenter, VarCluster, VarHost, VarDatastore, VarNetwork, VarFolder, VarVMName, VarVMNotes,
	VarResourcePool,
}

// Placeholders are the values `imagebot validate` gives injected variables
// that only a deployment knows, so that `packer validate` can check the rest
// of a template without a vCenter.
var Placeholders = map[string]string{
	VarVCenterServer:      "vcenter.invalid",
	VarVCenterUsername:    "validate@vsphere.local",
	VarVCenterPassword:    "validate-placeholder",
	VarInsecureConnection: "false",
	VarDatacenter:         "validate-datacenter",
	VarCluster:            "validate-cluster",
	VarHost:               "",
	VarResourcePool:       "",
	VarDatastore:          "validate-datastore",
	VarNetwork:            "validate-network",
	VarFolder:             "",
	VarVMName:             "imagebot-validate-image",
	VarVMNotes:            "imagebot validate",
}
