//go:build !linux

package sockdiag

import (
	"errors"
	"fmt"
)

// Take reads live sockets; only Linux has sock_diag, so elsewhere it
// returns an error wrapping errors.ErrUnsupported.
func Take(opt Options) (*Snapshot, error) {
	return nil, fmt.Errorf("sockdiag: live sockets need Linux sock_diag: %w", errors.ErrUnsupported)
}

// InNetNS runs f when path is empty; network namespaces are Linux's, so
// any other path is unsupported.
func InNetNS(path string, f func() error) error {
	if path == "" {
		return f()
	}
	return fmt.Errorf("sockdiag: network namespaces: %w", errors.ErrUnsupported)
}
