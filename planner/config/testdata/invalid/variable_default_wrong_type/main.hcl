variable "replicas" {
  type    = number
  default = "many"
}
