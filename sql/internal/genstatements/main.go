// Command genstatements writes sql/statements.go (see package statements).
//
//	go generate ./sql
package main

import (
	"fmt"
	"os"

	"github.com/scriptstats/scriptstats/sql/internal/statements"
)

func main() {
	src, err := statements.Generate(".")
	if err == nil {
		err = os.WriteFile("statements.go", src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genstatements:", err)
		os.Exit(1)
	}
}
