package main

// rotate returns the order in which round i runs its tools: the tools
// take turns at going first, so that a change in the machine's load
// during a round weighs on all of them alike.
func rotate[T any](tools []T, i int) []T {
	out := make([]T, 0, len(tools))
	for j := range tools {
		out = append(out, tools[(i+j)%len(tools)])
	}
	return out
}
