// Command runenv prints NAME=value for each variable named on its command line (NAME= when
// unset), one a line: the binary the run_env_test runs through rococo_run_binary.
package main

import (
	"fmt"
	"os"
)

func main() {
	for _, name := range os.Args[1:] {
		v, ok := os.LookupEnv(name)
		if !ok {
			fmt.Printf("%s unset\n", name)
			continue
		}
		fmt.Printf("%s=%s\n", name, v)
	}
}
