source "git" "platform" {
  url = "github.com/example/platform"
}
