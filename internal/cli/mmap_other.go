//go:build !unix

package cli

import "os"

// mapFile never maps here: files are read as streams.
func mapFile(*os.File) ([]byte, bool) { return nil, false }

func unmapFile([]byte) {}

func releaseMapped([]byte) {}

var pageSize = int64(os.Getpagesize())
