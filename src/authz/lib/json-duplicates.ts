/**
 * Duplicate object member names in a JSON text. RFC 8259 §4: names SHOULD be unique, and when they are not
 * "implementations differ": JSON.parse keeps the last `"name"`, other parsers the first. An MCP body like
 * `{"params":{"name":"rm","name":"fs.read"}}` would then be checked as fs.read and executed as rm, so SIGIL
 * refuses such bodies instead of guessing. Call only on text JSON.parse accepted (the scan relies on validity).
 */
export function hasDuplicateKeys(text: string): boolean {
  // One entry per open container: the member names seen so far, or null for an array.
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) j += 2;
        else if (d === 0x22) break;
        else j++;
      }
      if (expectKey) {
        // Compare unescaped names: "na\u006de" is "name". Only escaped names need the parser (cost).
        const raw = text.slice(i + 1, j);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        const seen = stack[stack.length - 1]!;
        if (seen.has(key)) return true;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return false;
}
