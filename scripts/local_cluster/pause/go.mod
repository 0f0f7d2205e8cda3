module netpol-conformance.local/localcluster/pause

go 1.24.0
