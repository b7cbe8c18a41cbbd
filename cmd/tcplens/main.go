// Command tcplens reads TCP at the wire level. See internal/cli.
package main

import (
	"os"

	"github.com/tcplens/tcplens/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
