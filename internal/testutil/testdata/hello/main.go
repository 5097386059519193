// Command hello is a tiny main package used to test BuildBinary.
package main

import "fmt"

func main() { fmt.Println("hello") }
