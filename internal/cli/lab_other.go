//go:build !linux

package cli

import (
	"errors"
	"fmt"
)

// labNS is a network namespace: only Linux has them.
type labNS struct{}

func newLabNS() (*labNS, error) {
	return nil, fmt.Errorf("lab: network namespaces need Linux: %w", errors.ErrUnsupported)
}

func (ns *labNS) Path() string             { return "" }
func (ns *labNS) run(f func() error) error { return f() }
func (ns *labNS) iptables(...string) error { return errors.ErrUnsupported }
func (ns *labNS) Close()                   {}
