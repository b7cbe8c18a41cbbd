//go:build !linux

package lab

import (
	"errors"
	"fmt"
)

// netns is a network namespace: only Linux has them.
type netns struct{}

func newNetns() (*netns, error) {
	return nil, fmt.Errorf("lab: network namespaces need Linux: %w", errors.ErrUnsupported)
}

func (ns *netns) Path() string             { return "" }
func (ns *netns) run(f func() error) error { return f() }
func (ns *netns) iptables(...string) error { return errors.ErrUnsupported }
func (ns *netns) Close()                   {}
