// Command geo serves Band functions.
package main

import (
	"github.com/rococo-go/rococo/common"
	"github.com/rococo-go/rococo/rococo/band"
)

func main() { common.Main(band.New()) }
