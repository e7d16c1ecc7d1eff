package planner

// This file names, in the plan's errors at an object of a kustomization
// or a release, the file the object comes from.

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

// locateErrors sets the File of the plan's errors and admission refusals
// at objects of kustomizations: the file of the block's tree that the
// object comes from. The plan's render does not keep where each object was
// read (a plan of 10,000 objects would pay for it on every run); the
// blocks with such an error are rendered once more here, with kustomize's
// origin annotations, which costs only plans that apply refuses anyway
// (an admission warning of an unchanged object names no file). A block that does not
// render so keeps its errors without a file.
func (e *Engine) locateErrors(ctx context.Context, p *plan.Plan) {
	var at []*string // the File of each error and refusal, by address
	var addresses []string
	for i := range p.Errors {
		at, addresses = append(at, &p.Errors[i].File), append(addresses, p.Errors[i].Address)
	}
	for i, r := range p.PolicyResults {
		if r.Source == plan.SourceAdmission && r.Enforcement == plan.Mandatory {
			at, addresses = append(at, &p.PolicyResults[i].File), append(addresses, r.Address)
		}
	}
	byBlock := map[string][]int{}
	for i, a := range addresses {
		block, _, err := addrs.ParseObjectAddress(a)
		if err == nil && addrs.BlockType(block) == string(config.KindKustomization) {
			byBlock[block] = append(byBlock[block], i)
		}
	}
	for block, idx := range byBlock {
		files := e.origins(ctx, block)
		for _, i := range idx {
			_, o, _ := addrs.ParseObjectAddress(addresses[i])
			*at[i] = files.of(o)
		}
	}
}

// objectFiles maps the objects of a render to the files they come from.
type objectFiles map[addrs.Object]string

// of returns the file of o, or "" when unknown. An object rendered without
// a namespace is found under the namespace the plan gave it.
func (f objectFiles) of(o addrs.Object) string {
	if file, ok := f[o]; ok {
		return file
	}
	o.Namespace = ""
	return f[o]
}

// origins renders the kustomization at block with origin annotations and
// returns the file of each object, relative to its tree (the stack
// directory, or its source's tree); nil when it cannot.
func (e *Engine) origins(ctx context.Context, block string) objectFiles {
	a, err := config.ParseAddress(block)
	if err != nil {
		return nil
	}
	k, ok := e.stack.Block(a).(*config.Kustomization)
	if !ok {
		return nil
	}
	root := e.dir
	if k.Source != nil {
		art, err := e.artifact(k.Source)
		if err != nil {
			return nil
		}
		root = art.Dir
	}
	dec, err := e.decryptor(k.Address(), k.Decryption)
	if err != nil {
		return nil
	}
	objs, err := renderKustomization(ctx, k, root, renderOptions{origins: true, decryptor: dec,
		onDecrypt: func(v []string) { e.addSecrets(v...) }})
	if err != nil {
		return nil
	}
	files := make(objectFiles, len(objs))
	for _, u := range objs {
		file := kustomize.Origin(k.Path, u)
		if file == "" { // made by a generator of the kustomization file
			file = filepath.ToSlash(filepath.Join(k.Path, "kustomization.yaml"))
		}
		files[addrs.Object{Group: addrs.GroupOf(u.GetAPIVersion()), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}] = file
	}
	return files
}

// inTemplate sets the File of errs, the errors at the object of a
// release r that err names, to the chart's template the object comes from
// (kube.ObjectError.File): relative to the release's tree for a chart in
// one (the stack directory, a Git source), as Helm names it
// (CHART/templates/x.yaml) for a chart from a repository.
func inTemplate(errs []plan.Error, r *config.Release, err error) {
	var oe *kube.ObjectError
	if len(errs) == 0 || !errors.As(err, &oe) || oe.File == "" {
		return
	}
	file := oe.File
	if r.Source == nil || r.Source.Addr.Kind == config.KindSource && r.Source.Addr.Type == config.SourceGit {
		// Helm names a template CHART_NAME/templates/...: the chart's
		// directory holds templates/...
		_, rest, _ := strings.Cut(oe.File, "/")
		file = filepath.ToSlash(filepath.Join(r.Chart, rest))
	}
	for i := range errs {
		errs[i].File = file
	}
}
