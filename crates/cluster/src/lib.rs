//! Kubernetes instance discovery, health model and diagnoses (the Kubernetes issue fills this).
