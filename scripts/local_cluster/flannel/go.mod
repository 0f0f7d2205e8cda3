// Builds flanneld for the local cluster's optional `--cni flannel`.
// The module proxy refuses the Tencent Cloud SDK versions flannel requires; its tencentvpc
// backend (unused here) compiles against an older SDK version that the proxy serves.
module netpol-conformance.local/localcluster/flannel

go 1.26.0

require github.com/flannel-io/flannel v0.28.10

replace (
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common => github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common v1.0.1000
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc => github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc v1.0.1000
)
