# production: redundant operators and services on SSDs.
environment   = "production"
storage_class = "ssd"
volume_size   = "500Gi"
replicas      = { operators = 2, minio = 4, mlflow = 3, airflow = 2 }
resources     = { cpu = "1", memory = "2048Mi" }
