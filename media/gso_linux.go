package media

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gsoSupported: Linux cuts one UDP send into equal datagrams for us
// (UDP_SEGMENT, generic segmentation offload, since 4.18).
const gsoSupported = true

// gsoCmsgLen is the room one UDP_SEGMENT control message takes.
var gsoCmsgLen = unix.CmsgSpace(2)

// putGSO writes into b (gsoCmsgLen bytes, 8-byte aligned) the control
// message that asks the kernel to cut the send into size-byte datagrams.
func putGSO(b []byte, size int) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
}
