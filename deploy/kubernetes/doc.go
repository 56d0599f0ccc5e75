// Package kubernetes holds the Kubernetes manifests of scriptstats: a
// kustomize base (base/), the long-running scheduler variant as a component
// (components/schedule/) and example overlays (overlays/). The package has
// no code; its test renders every kustomization and checks the objects.
package kubernetes
