// Package spelling finds the word a person probably meant: the scenario,
// fleet and users files all answer a misspelt key with the nearest known
// one.
package spelling

// Distance is the edit distance of a and b with transpositions (optimal
// string alignment): the fewest single-byte insertions, deletions,
// substitutions and swaps of neighbours that turn one into the other, so
// the typo "t84g" is one step from "t48g".
func Distance(a, b string) int {
	// Three rows of the table: two back (for a swap), one back, this one.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
