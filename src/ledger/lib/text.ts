/** Text checks shared by the note parsers (browser-safe). */

/** True when `s` holds an ASCII control character (U+0000–U+001F) other than newline (U+000A). */
export function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/** True when `s` holds any Unicode white space, a '+' or a control character (not allowed in key names). */
export function hasSpacePlusOrControl(s: string): boolean {
  return /[\s+]/u.test(s) || hasControlChar(s) || s.includes('\n');
}
