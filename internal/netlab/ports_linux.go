package netlab

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Every run's client ports are a block of its own, so that the kernel's
// tracepoint, which names no network namespace, can tell the run's
// sockets from those of another run on the machine: all runs have the
// same addresses and service port. The block is reserved by binding its
// ports in the test process's own namespace, which every test process of
// the machine shares, until the run ends; a block of the ports netlab
// used before it reserved any (40001 and up) is never taken, since a run
// of that code would not see the reservation.
const (
	portBlockSize  = 16
	portBlockFirst = 41024 // the lowest block's first port
	portBlocks     = (60928 - portBlockFirst) / portBlockSize
)

// reservePorts reserves a free block of portBlockSize ports and returns
// its first port and the function that frees it.
func reservePorts() (base uint16, release func(), err error) {
	for try := 0; try < 64; try++ {
		var r [4]byte
		rand.Read(r[:])
		base := uint16(portBlockFirst + portBlockSize*(binary.LittleEndian.Uint32(r[:])%portBlocks))
		fds, err := bindBlock(base)
		if errors.Is(err, unix.EADDRINUSE) {
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		return base, func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}, nil
	}
	return 0, nil, errors.New("netlab: no free block of client ports in 64 tries")
}

// bindBlock binds a TCP socket to each port of the block, or to none.
func bindBlock(base uint16) ([]int, error) {
	var fds []int
	for p := base; p < base+portBlockSize; p++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrInet4{Port: int(p)})
			if err != nil {
				unix.Close(fd)
			}
		}
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			if errors.Is(err, unix.EADDRINUSE) {
				return nil, err
			}
			return nil, fmt.Errorf("netlab: reserving port %d: %w", p, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}
