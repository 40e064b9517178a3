/*
 * glob.c -- the glob patterns of KEYS, SCAN MATCH and CONFIG GET, with the
 * syntax Redis gives them: '*', '?', '[abc]', '[^a-z]' (a reversed range
 * counts as its forward one), '\' quoting the next character, an
 * unterminated class ending at the pattern's end.  Matching keeps one
 * backtracking point (the last '*'), so it takes O(pattern x string) steps
 * whatever the pattern: no recursion, no blow-up on "a*a*a*a*b".
 */
#include "server.h"

static unsigned char fold(unsigned char ch, int nocase)
{
	return nocase && ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

/* The class at pat[0] == '['; *end gets the index just past it. */
static int class_match(const char *pat, size_t plen, unsigned char ch, int nocase, size_t *end)
{
	size_t i = 1;
	int neg = 0, hit = 0;

	if (i < plen && pat[i] == '^') {
		neg = 1;
		i++;
	}
	ch = fold(ch, nocase);
	while (i < plen && pat[i] != ']') {
		if (pat[i] == '\\' && i + 1 < plen) {
			i++;
			if (fold((unsigned char)pat[i], nocase) == ch)
				hit = 1;
			i++;
		} else if (i + 2 < plen && pat[i + 1] == '-') {
			unsigned char a = fold((unsigned char)pat[i], nocase);
			unsigned char b = fold((unsigned char)pat[i + 2], nocase);

			if (a > b) {
				unsigned char t = a;

				a = b;
				b = t;
			}
			if (ch >= a && ch <= b)
				hit = 1;
			i += 3;
		} else {
			if (fold((unsigned char)pat[i], nocase) == ch)
				hit = 1;
			i++;
		}
	}
	*end = i < plen ? i + 1 : plen; /* past ']', or the end */
	return neg ? !hit : hit;
}

int glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase)
{
	size_t p = 0, i = 0, star_p = 0, star_i = 0;
	int have_star = 0;

	while (i < slen) {
		if (p < plen) {
			size_t end;

			switch (pat[p]) {
			case '*':
				while (p < plen && pat[p] == '*')
					p++;
				if (p == plen)
					return 1;
				have_star = 1;
				star_p = p;
				star_i = i;
				continue;
			case '?':
				p++;
				i++;
				continue;
			case '[':
				if (class_match(pat + p, plen - p, (unsigned char)s[i], nocase, &end)) {
					p += end;
					i++;
					continue;
				}
				break;
			case '\\':
				if (p + 1 < plen && pat[p + 1] == s[i]) {
					p += 2;
					i++;
					continue;
				}
				if (p + 1 == plen && s[i] == '\\') {
					p++;
					i++;
					continue;
				}
				break;
			default:
				if (fold((unsigned char)pat[p], nocase) == fold((unsigned char)s[i], nocase)) {
					p++;
					i++;
					continue;
				}
				break;
			}
		}
		if (!have_star)
			return 0;
		p = star_p;
		i = ++star_i;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}
