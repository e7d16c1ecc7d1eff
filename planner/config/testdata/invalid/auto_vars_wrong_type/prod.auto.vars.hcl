replicas = "many"
