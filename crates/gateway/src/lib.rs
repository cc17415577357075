//! The data plane (the gateway issue fills this): auth, routing, providers, limits, spend pipeline, metrics.
