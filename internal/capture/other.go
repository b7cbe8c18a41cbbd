//go:build !linux

package capture

import (
	"errors"
	"fmt"

	"github.com/tcplens/tcplens/internal/pcap"
)

// Handle is an open capture; only Linux has one.
type Handle struct{}

// Open needs Linux AF_PACKET: elsewhere it returns an error wrapping
// errors.ErrUnsupported.
func Open(opt Options) (*Handle, error) {
	return nil, fmt.Errorf("capture: live capture needs Linux AF_PACKET: %w", errors.ErrUnsupported)
}

func (h *Handle) Link() pcap.LinkType       { return 0 }
func (h *Handle) Name() string              { return "" }
func (h *Handle) Stop()                     {}
func (h *Handle) Next() (pcap.Frame, error) { return pcap.Frame{}, errEOF }
func (h *Handle) Stats() (Stats, error)     { return Stats{}, errors.ErrUnsupported }
func (h *Handle) Close()                    {}
