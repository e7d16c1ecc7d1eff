package planner

// This file names, in the plan's errors at an object of a kustomization
// or a release, the file the object comes from (and for a kustomization's
// object, the line).

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/strata-gitops/strata/internal/addrs"
	"github.com/strata-gitops/strata/planner/config"
	"github.com/strata-gitops/strata/planner/plan"
	"github.com/strata-gitops/strata/providers/kube"
	"github.com/strata-gitops/strata/providers/kustomize"
)

// locateErrors sets the File and Line of the plan's errors and admission
// refusals at objects of kustomizations: the file of the block's tree that
// the object comes from, and the line where it is declared there (see
// kustomize.Lines). The plan's render does not keep where each object was
// read (a plan of 10,000 objects would pay for it on every run); the
// blocks with such an error are rendered once more here, with kustomize's
// origin annotations, and the files named are parsed, which costs only
// plans that apply refuses (an admission warning of an unchanged object
// names no file). A block that does not render so keeps its errors
// without a file.
func (e *Engine) locateErrors(ctx context.Context, p *plan.Plan) {
	type place struct {
		address string
		file    *string
		line    *int
	}
	var at []place
	for i := range p.Errors {
		at = append(at, place{p.Errors[i].Address, &p.Errors[i].File, &p.Errors[i].Line})
	}
	for i, r := range p.PolicyResults {
		if r.Source == plan.SourceAdmission && r.Enforcement == plan.Mandatory {
			at = append(at, place{r.Address, &p.PolicyResults[i].File, &p.PolicyResults[i].Line})
		}
	}
	byBlock := map[string][]place{}
	for _, pl := range at {
		block, _, err := addrs.ParseObjectAddress(pl.address)
		if err == nil && addrs.BlockType(block) == string(config.KindKustomization) {
			byBlock[block] = append(byBlock[block], pl)
		}
	}
	for block, places := range byBlock {
		files := e.origins(ctx, block)
		for _, pl := range places {
			_, o, _ := addrs.ParseObjectAddress(pl.address)
			*pl.file, *pl.line = files.of(o)
		}
	}
}

// objectFiles maps the objects of a render to the files they come from,
// relative to root, the block's tree.
type objectFiles struct {
	root  string
	files map[addrs.Object]string
	lines map[string]kustomize.Lines // the files parsed, by name
}

// of returns the file of o and its line there, or "" and 0 when unknown.
// An object rendered without a namespace is found under the namespace the
// plan gave it.
func (f *objectFiles) of(o addrs.Object) (string, int) {
	file, ok := f.files[o]
	if !ok {
		file = f.files[addrs.Object{Group: o.Group, Kind: o.Kind, Name: o.Name}]
	}
	if file == "" {
		return "", 0
	}
	lines, ok := f.lines[file]
	if !ok {
		lines = kustomize.ReadLines(f.root, file)
		f.lines[file] = lines
	}
	return file, lines.Line(o.Kind, o.Namespace, o.Name)
}

// origins renders the kustomization at block with origin annotations and
// returns the file of each object, relative to its tree (the stack
// directory, or its source's tree); empty when it cannot.
func (e *Engine) origins(ctx context.Context, block string) *objectFiles {
	none := &objectFiles{}
	a, err := config.ParseAddress(block)
	if err != nil {
		return none
	}
	k, ok := e.stack.Block(a).(*config.Kustomization)
	if !ok {
		return none
	}
	root := e.dir
	if k.Source != nil {
		art, err := e.artifact(k.Source)
		if err != nil {
			return none
		}
		root = art.Dir
	}
	dec, err := e.decryptor(k.Address(), k.Decryption)
	if err != nil {
		return none
	}
	objs, err := renderKustomization(ctx, k, root, renderOptions{origins: true, decryptor: dec,
		onDecrypt: func(v []string) { e.addSecrets(v...) }})
	if err != nil {
		return none
	}
	files := &objectFiles{root: root, files: make(map[addrs.Object]string, len(objs)), lines: map[string]kustomize.Lines{}}
	for _, u := range objs {
		file := kustomize.Origin(k.Path, u)
		if file == "" { // kustomize named none: the kustomization file's
			file = filepath.ToSlash(filepath.Join(k.Path, "kustomization.yaml"))
		}
		files.files[addrs.Object{Group: addrs.GroupOf(u.GetAPIVersion()), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}] = file
	}
	return files
}

// inTemplate sets the File of the errors and policy results that planning
// the release r added to p after the first n errors and m policy results
// (the refusal err of one of its objects: an error, or the admission
// chain's verdict on the release) to the chart's template the object
// comes from (kube.ObjectError.File): relative to the release's tree for a
// chart in one (the stack directory, a Git source), as Helm names it
// (CHART/templates/x.yaml) for a chart from a repository. A line in a
// template says little about the object it renders: they have none.
func inTemplate(p *plan.Plan, n, m int, r *config.Release, err error) {
	var oe *kube.ObjectError
	if !errors.As(err, &oe) || oe.File == "" {
		return
	}
	file := oe.File
	if r.Source == nil || r.Source.Addr.Kind == config.KindSource && r.Source.Addr.Type == config.SourceGit {
		// Helm names a template CHART_NAME/templates/...: the chart's
		// directory holds templates/...
		_, rest, _ := strings.Cut(oe.File, "/")
		file = filepath.ToSlash(filepath.Join(r.Chart, rest))
	}
	for i := n; i < len(p.Errors); i++ {
		p.Errors[i].File = file
	}
	for i := m; i < len(p.PolicyResults); i++ {
		p.PolicyResults[i].File = file
	}
}
