// Package fluximport translates Flux CD manifests (GitRepository,
// OCIRepository, HelmRepository, HelmChart, Kustomization and HelmRelease
// objects) into a strata stack.
//
//	res, err := fluximport.Import(paths)
//
// Import reads files and directories of multi-document YAML and returns the
// stack as formatted HCL files (Result.Files), together with every setting
// that could not be carried over exactly (Result.Issues, each with the
// file and line of the Flux manifest, the field and the reason). The same
// issues are written as comments into the generated HCL, at the block they
// concern. Flux's defaults decide the translation: an attribute is written
// explicitly wherever strata's default differs from Flux's.
//
// Bad input (not YAML, a document without apiVersion or kind, an unknown
// kind or version of a Flux API group, a Flux object missing a required
// field or with a field of the wrong type) is an error naming the file and
// line. Objects of other API groups (the plain manifests a Flux
// Kustomization applies) are skipped and listed in Result.Skipped.
package fluximport
