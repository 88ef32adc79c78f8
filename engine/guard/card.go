package guard

import "strings"

// Payment card numbers (PCI DSS PAN): 13 to 19 digits, either unbroken or in
// groups of three to six digits, the first of four, split by one space or
// one dash; the brand prefix must fit the length and the Luhn check must
// pass. Decimals (0.4242…), numbers glued to letters, phone numbers
// (+4242…) and numbers that follow a key ending in "id" are not cards. A
// group at either end of a spaced run that is glued to a word, or too short
// or long to be part of a card, is left out ("7 4242 4242 4242 4242 x1"),
// so that the result does not depend on what a neighbouring rule masks.
func scanCardNumber(sc *scanner, prio int) {
	s := sc.s
	const maxGroups = 8
	var groups [maxGroups + 1][2]int
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			continue
		}
		ng := 0
		var sep byte
		j := i
		for {
			e := run(s, j, isDigit)
			if ng < len(groups) {
				groups[ng] = [2]int{j, e}
			}
			ng++
			j = e
			// A change of separator ends the number: 2024-01-15 4242….
			if c := at(s, j); (c == ' ' || c == '-') && isDigit(at(s, j+1)) && (sep == 0 || c == sep) {
				sep = c
				j++
				continue
			}
			break
		}
		i = j
		if ng > maxGroups || (ng == 1 && groups[0][1]-groups[0][0] < 13) {
			continue // most numbers in logs are short
		}
		g := groups[:ng]
		for len(g) > 1 && (!groupSize(g[0]) || !leftBoundary(s, g[0][0])) {
			g = g[1:]
		}
		for len(g) > 1 && (!groupSize(g[len(g)-1]) || !rightBoundary(s, g[len(g)-1][1])) {
			g = g[:len(g)-1]
		}
		start, end := g[0][0], g[len(g)-1][1]
		nd := digitsIn(g)
		switch {
		case len(g) == 1 && (nd < 13 || nd > 19):
			continue
		case len(g) > 1 && (len(g) > 5 || g[0][1]-g[0][0] != 4 || !allGroupSizes(g) || nd < 13 || nd > 19):
			continue
		}
		if !leftBoundary(s, start) || !rightBoundary(s, end) || afterIDKey(s, sc.lower, start) {
			continue
		}
		var digits [19]byte
		d := digits[:0]
		for _, gr := range g {
			d = append(d, s[gr[0]:gr[1]]...)
		}
		if cardBrand(d) && luhn(d) {
			sc.add(start, end, prio)
		}
	}
}

func groupSize(g [2]int) bool { n := g[1] - g[0]; return n >= 3 && n <= 6 }

func allGroupSizes(g [][2]int) bool {
	for _, gr := range g {
		if !groupSize(gr) {
			return false
		}
	}
	return true
}

func digitsIn(g [][2]int) int {
	n := 0
	for _, gr := range g {
		n += gr[1] - gr[0]
	}
	return n
}

// leftBoundary reports whether a number may start at i: not glued to a
// word, an e-mail address, a decimal point or a sign.
func leftBoundary(s string, i int) bool {
	switch p := before(s, i); {
	case isWord(p) || p == '.' || p == ',' || p == '+' || p == '@':
		return false
	case p == '-' && isAlnum(before(s, i-1)):
		return false
	}
	return true
}

// rightBoundary reports whether a number may end at i.
func rightBoundary(s string, i int) bool {
	switch c := at(s, i); {
	case isWord(c) || c == '@':
		return false
	case (c == '.' || c == ',') && isDigit(at(s, i+1)):
		return false
	case c == '-' && isAlnum(at(s, i+1)):
		return false
	}
	return true
}

// afterIDKey reports whether the number at start is the value of a key that
// ends in "id": trace_id=…, "orderId": …, order id ….
func afterIDKey(s, lower string, start int) bool {
	k := start
	for n := 0; n < 4 && k > 0 && strings.IndexByte(" \"':=", s[k-1]) >= 0; n++ {
		k--
	}
	if k == start || k < 2 || lower[k-2:k] != "id" {
		return false
	}
	p := before(lower, k-2)
	return !isLetter(p) || isUpper(s[k-2])
}

// cardBrand reports whether the digits start with the issuer prefix of a
// card brand whose numbers have this length.
func cardBrand(d []byte) bool {
	n := len(d)
	num := func(k int) int {
		v := 0
		for _, c := range d[:k] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	p2, p3, p4 := num(2), num(3), num(4)
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649): // Discover
		return n >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305): // Diners Club
		return n >= 14
	}
	return false
}

func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}
