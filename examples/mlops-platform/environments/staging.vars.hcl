# staging: production's shape at a smaller size.
environment   = "staging"
storage_class = "ssd"
volume_size   = "50Gi"
replicas      = { operators = 1, minio = 4, mlflow = 2, airflow = 2 }
resources     = { cpu = "250m", memory = "512Mi" }
