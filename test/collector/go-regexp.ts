/**
 * The Go (RE2) regular expressions in our Collector configurations, as JavaScript RegExps,
 * so a test can run them on sample values. Only the syntax the two languages share is
 * accepted, plus a leading `(?i)`, which JavaScript writes as a flag; anything else Go-only
 * throws rather than being silently read differently.
 */
export function goRegExp(pattern: string, flags = ''): RegExp {
  let source = pattern;
  let jsFlags = flags;
  if (source.startsWith('(?i)')) {
    source = source.slice(4);
    jsFlags += 'i';
  }
  if (/\(\?[a-zA-Z]|\\[zAQEpP]|\[\[:/.test(source)) {
    throw new Error(`${pattern}: Go-only regular expression syntax; extend goRegExp before testing it`);
  }
  return new RegExp(source, jsFlags);
}
