source "s3" "bucket" {
  url = "s3://bucket"
}
