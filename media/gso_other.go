//go:build !linux

package media

// gsoSupported: segmentation offload is Linux's; elsewhere each datagram
// is its own message of the batch.
const gsoSupported = false

var gsoCmsgLen = 0

func putGSO([]byte, int) {}
