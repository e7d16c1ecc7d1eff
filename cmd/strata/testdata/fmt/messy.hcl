# A messy stack file.
variable "environment" {
type = string
      default="development"
}

source   "git"   "platform"   {
  url="https://github.com/example/platform"
  branch =   "main"
    ignore = [ "*.md","docs/" ]
}

kustomization "platform_base" {
	source = source.git.platform
	path = "gitops/base"
	prune = true
	substitute = {
	  cluster_env = var.environment
	  region="eu-west-1"
	}
	health_check {
	api_version="v1"
	kind="Namespace"
	name="platform"
	}
}
release "web" {
  chart="./chart"
  values={replicas=2,image={tag="1.2.3"}}
  depends_on=[kustomization.platform_base]
}
