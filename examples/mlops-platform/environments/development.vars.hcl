# development: one node of everything, the cluster's default storage.
environment   = "development"
storage_class = "standard"
volume_size   = "10Gi"
replicas      = { operators = 1, minio = 1, mlflow = 1, airflow = 1 }
resources     = { cpu = "100m", memory = "256Mi" }
