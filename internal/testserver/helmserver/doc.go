// Package helmserver runs an in-process Helm chart repository (index.yaml
// plus chart archives over HTTP or HTTPS) for tests, with optional basic
// auth, ETag and Last-Modified support, and a request log so tests can
// check what a client downloaded.
package helmserver
