// Package deploy owns the tests of imagebot's deploy recipes: the
// Dockerfiles (docker/), the systemd units (systemd/), the compose file
// (compose/) and the Helm chart (helm/imagebot). It is a module of its own
// so that Helm, the Kubernetes API types, compose-go and BuildKit's
// Dockerfile parser stay out of imagebot's go.mod and binary.
package deploy
