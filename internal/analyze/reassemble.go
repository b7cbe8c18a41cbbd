package analyze

import (
	"github.com/tcplens/tcplens/internal/pcap"
	"github.com/tcplens/tcplens/internal/wire"
)

// Reassembler puts TCP segments split into IP fragments back together as
// the analysis does (frag.go), for other readers of frames that must see
// the same segments (tcplens compare). The zero value is ready.
type Reassembler struct{ fr fragments }

// Add takes a frame holding an IP fragment of a TCP segment, decoded as
// far as it goes into s. Once its datagram is whole it decodes the
// datagram into s and returns the error of that; until then it returns
// wire.ErrFragment.
func (r *Reassembler) Add(f *pcap.Frame, s *wire.Segment) error {
	whole, ok := r.fr.add(f, s)
	if !ok {
		return wire.ErrFragment
	}
	return wire.Decode(&whole, s)
}
